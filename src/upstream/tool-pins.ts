import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ToolPinRecord, ToolPinStore } from '../store/index.js';
import { definitionDiff, pinnedForm, type ToolDefinition } from './tool-definitions.js';
import type { Upstream } from './types.js';

/**
 * Pinned tool definitions (against "rug pulls": a server changing a tool's description or schema after it was
 * approved). Each replica keeps the pins of the upstreams it lists in memory, read again on every review (a fresh
 * upstream listing), on `refresh` (a client's tools/list) and on approval, so a tools/call is checked without a
 * database read while approvals made through another replica are seen at the next listing.
 */

export type ToolStatus = 'approved' | 'changed' | 'pending';

export type ToolPinEvent =
  | { kind: 'definition_changed'; upstream: Upstream; tool: string; diff: Record<string, unknown> }
  /** `elsewhere`: approved through another replica, whose announcement this one followed. */
  | { kind: 'approved'; upstream: Upstream; tool: string; elsewhere?: boolean };

export interface ToolPins {
  /** Takes in a fresh listing of an upstream: pins what is seen first, notes and audits changed definitions. */
  review(upstream: Upstream, tools: readonly Tool[]): Promise<void>;
  /** Reads these upstreams' pins again. */
  refresh(upstreamIds: readonly string[]): Promise<void>;
  /** The tool's standing against its pin, from memory. */
  status(upstreamId: string, tool: Tool): ToolStatus;
  /** Whether the upstream's policy keeps this tool from being listed and called. */
  withheld(upstream: Upstream, tool: Tool): boolean;
  /** The tool's pin, from memory. */
  pinOf(upstreamId: string, tool: string): ToolPinRecord | undefined;
  /** Pins the tool's present definition (audited as `tool.approved`, by `userId`). */
  approve(upstream: Upstream, tool: Tool, userId: string | null): Promise<ToolPinRecord>;
  /** An approval another replica announced: its pins read again and the approval told as this one's would be. */
  approvedElsewhere(upstream: Upstream, tool: string): Promise<void>;
  subscribe(listener: (event: ToolPinEvent) => void): () => void;
}

export interface ToolPinsOptions {
  store: ToolPinStore;
  audit: AuditLog;
  now?: () => number;
}

export function toolPins({ store, audit, now = Date.now }: ToolPinsOptions): ToolPins {
  const pins = new Map<string, Map<string, ToolPinRecord>>();
  const listeners = new Set<(event: ToolPinEvent) => void>();
  // Tools are immutable once listed (the catalog replaces the list): each is hashed once.
  const forms = new WeakMap<Tool, ReturnType<typeof pinnedForm>>();
  const formOf = (tool: Tool) => {
    let form = forms.get(tool);
    if (!form) forms.set(tool, (form = pinnedForm(tool)));
    return form;
  };
  const emit = (event: ToolPinEvent) => {
    for (const listener of listeners) listener(event);
  };

  const refresh = async (upstreamIds: readonly string[]) => {
    const records = await store.list(upstreamIds);
    for (const id of upstreamIds) pins.set(id, new Map());
    for (const record of records) pins.get(record.upstreamId)!.set(record.tool, record);
  };
  const pinOf = (upstreamId: string, tool: string) => pins.get(upstreamId)?.get(tool);
  const recordOf = (upstreamId: string, tool: Tool, pinnedBy: string | null): ToolPinRecord => {
    const { definition, hash } = formOf(tool);
    return { upstreamId, tool: tool.name, definitionHash: hash, definition, pinnedAt: now(), pinnedBy };
  };
  const status = (upstreamId: string, tool: Tool): ToolStatus => {
    const pin = pinOf(upstreamId, tool.name);
    if (!pin) return 'pending';
    return pin.definitionHash === formOf(tool).hash ? 'approved' : 'changed';
  };

  const reportChange = async (upstream: Upstream, tool: Tool, pin: ToolPinRecord) => {
    const { hash } = formOf(tool);
    if (!(await store.noteChange(upstream.id, tool.name, hash))) return;
    const diff = definitionDiff(JSON.parse(pin.definition) as ToolDefinition, JSON.parse(formOf(tool).definition) as ToolDefinition);
    await audit.record('tool.definition_changed', {
      detail: { upstream_id: upstream.id, upstream: upstream.settings.name, tool: tool.name, mode: pinningOf(upstream), pinned_hash: pin.definitionHash, hash, diff },
    });
    emit({ kind: 'definition_changed', upstream, tool: tool.name, diff });
  };

  return {
    async review(upstream, tools) {
      await refresh([upstream.id]);
      if (pinningOf(upstream) === 'off') return;
      const known = pins.get(upstream.id)!;
      // The first listing pins everything; later newcomers wait for approval when the upstream says so.
      const pinNew = known.size === 0 || upstream.settings.new_tools !== 'approve';
      const fresh = pinNew ? tools.filter((tool) => !known.has(tool.name)).map((tool) => recordOf(upstream.id, tool, null)) : [];
      if (fresh.length > 0) {
        await store.pinIfAbsent(fresh);
        await refresh([upstream.id]);
      }
      for (const tool of tools) {
        const pin = pinOf(upstream.id, tool.name);
        if (pin && pin.definitionHash !== formOf(tool).hash) await reportChange(upstream, tool, pin);
      }
    },
    refresh,
    status,
    withheld: (upstream, tool) => pinningOf(upstream) === 'enforce' && status(upstream.id, tool) !== 'approved',
    pinOf,
    async approve(upstream, tool, userId) {
      const record = recordOf(upstream.id, tool, userId);
      await store.replace(record);
      await refresh([upstream.id]);
      await audit.record('tool.approved', { userId, detail: { upstream_id: upstream.id, upstream: upstream.settings.name, tool: tool.name, hash: record.definitionHash } });
      emit({ kind: 'approved', upstream, tool: tool.name });
      return record;
    },
    async approvedElsewhere(upstream, tool) {
      await refresh([upstream.id]);
      emit({ kind: 'approved', upstream, tool, elsewhere: true });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

const pinningOf = (upstream: Upstream) => upstream.settings.tool_pinning ?? 'enforce';
