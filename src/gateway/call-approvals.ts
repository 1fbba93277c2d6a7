import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import { newId } from '../crypto/random.js';
import type { CallApprovalRecord, CallApprovalStore } from '../store/index.js';
import { canonicalJson } from '../upstream/tool-definitions.js';
import type { Upstream, UpstreamSettings } from '../upstream/types.js';
import { boundedJson, redactArguments, sensitiveKeyMatcher } from './argument-redaction.js';
import type { AskInBrowser } from './browser-prompts.js';

/**
 * Human approval of risky calls. An upstream (or one of its tools) with `require_approval` holds a call until the
 * calling person approves it on a Gatehouse page (web/call-approval-routes.ts). The approval is bound to that person,
 * that tool and a keyed hash of the exact arguments, lives in the store (any replica serves the page and the retry),
 * expires (the request `ttlSeconds` after the call, an approval `ttlSeconds` after it was given), and is spent by the one
 * call it approved: a retry with other arguments needs a new approval.
 */

/** Whether a call of `tool` needs the caller's approval; `definition` is the listed tool (its annotations decide `destructive`). */
export function approvalRequired(settings: Pick<UpstreamSettings, 'require_approval' | 'tool_require_approval'>, tool: string, definition: Tool | undefined): boolean {
  const perTool = settings.tool_require_approval;
  const mode = (perTool && Object.hasOwn(perTool, tool) ? perTool[tool] : undefined) ?? settings.require_approval ?? 'never';
  if (mode !== 'destructive') return mode === 'always';
  // MCP's defaults: a tool not declared read-only may modify its environment, and destructively unless it says otherwise.
  const annotations = definition?.annotations;
  return annotations?.destructiveHint === true || annotations?.readOnlyHint !== true;
}

/** What a call that needs approval may do now. */
export type ApprovalGate =
  | { kind: 'approved' }
  /** Ask the person (again) to decide on this pending approval. */
  | { kind: 'ask'; approval: CallApprovalRecord }
  | { kind: 'denied' }
  | { kind: 'expired' };

/** What deciding on the page came to. */
export type ApprovalDecision = 'approved' | 'denied' | 'unknown' | 'other_user' | 'already_decided' | 'expired';

export interface HeldCall {
  userId: string;
  upstream: Upstream;
  tool: string;
  exposedName: string;
  args: Record<string, unknown> | undefined;
}

export interface CallApprovals {
  /** Settles a call that needs approval: spends a live approval of exactly these arguments, or says what to answer. */
  gate(call: HeldCall): Promise<ApprovalGate>;
  /** The approval behind a link, as its person may see it. */
  find(id: string): Promise<CallApprovalRecord | undefined>;
  /** The person's decision on the page; only its own person may decide, once, before it expires. */
  decide(id: string, userId: string, approve: boolean, ip: string | null): Promise<ApprovalDecision>;
  /** The link the person opens to decide. */
  link(id: string): string;
  readonly ttlSeconds: number;
}

export interface CallApprovalDeps {
  store: CallApprovalStore;
  audit: AuditLog;
  hasher: KeyedHasher;
  config: Pick<Config, 'publicUrl' | 'approvals' | 'audit'>;
  now?: () => number;
}

export function callApprovals({ store, audit, hasher, config, now = Date.now }: CallApprovalDeps): CallApprovals {
  const ttlMs = config.approvals.ttlSeconds * 1000;
  const isSensitive = sensitiveKeyMatcher(config.audit.redactKeys);
  const detailOf = (approval: CallApprovalRecord) => ({ approval_id: approval.id, upstream_id: approval.upstreamId, upstream: approval.upstreamName, tool: approval.tool });

  /** A new pending approval for this call, audited as requested. */
  const request = async (call: HeldCall, argumentsHash: string): Promise<ApprovalGate> => {
    const at = now();
    const approval: CallApprovalRecord = {
      id: newId('apr'),
      userId: call.userId,
      upstreamId: call.upstream.id,
      upstreamName: call.upstream.settings.name,
      tool: call.tool,
      exposedName: call.exposedName,
      argumentsHash,
      arguments: boundedJson(redactArguments(call.args ?? {}, isSensitive)),
      status: 'pending',
      createdAt: at,
      expiresAt: at + ttlMs,
      decidedAt: null,
    };
    await store.create(approval);
    await audit.record('call.approval_requested', { userId: call.userId, detail: detailOf(approval) });
    return { kind: 'ask', approval };
  };

  return {
    ttlSeconds: config.approvals.ttlSeconds,
    link: (id) => `${config.publicUrl}/approve/${encodeURIComponent(id)}`,
    find: (id) => store.find(id),

    async gate(call) {
      const argumentsHash = hasher.hash(`call-approval\0${canonicalJson(call.args ?? {})}`);
      const open = await store.findOpen({ userId: call.userId, upstreamId: call.upstream.id, tool: call.tool, argumentsHash });
      if (!open) return request(call, argumentsHash);
      const at = now();
      const live = open.expiresAt > at;
      if (open.status === 'pending' && live) return { kind: 'ask', approval: open };
      // Each outcome below is answered once: the row is spent by whoever changes it first (another replica may race).
      if (open.status === 'approved' && live) {
        return (await store.transition(open.id, 'approved', 'spent', at, { liveAt: at })) ? { kind: 'approved' } : request(call, argumentsHash);
      }
      if (!(await store.transition(open.id, open.status, 'spent', at))) return request(call, argumentsHash);
      if (open.status === 'denied') return { kind: 'denied' };
      await audit.record('call.approval_expired', { userId: call.userId, detail: { ...detailOf(open), was: open.status } });
      return { kind: 'expired' };
    },

    async decide(id, userId, approve, ip) {
      const approval = await store.find(id);
      if (!approval) return 'unknown';
      if (approval.userId !== userId) return 'other_user';
      if (approval.status !== 'pending') return 'already_decided';
      const at = now();
      if (approval.expiresAt <= at) return 'expired';
      const decision = approve ? 'approved' : 'denied';
      // An approval is good for a full period from the decision, so the person has time to go back and retry.
      if (!(await store.transition(id, 'pending', decision, at, { liveAt: at, ...(approve ? { expiresAt: at + ttlMs } : {}) }))) return (await store.find(id))?.status === 'pending' ? 'expired' : 'already_decided';
      await audit.record(approve ? 'call.approved' : 'call.denied', { userId, ip, detail: detailOf(approval) });
      return decision;
    },
  };
}

/**
 * The gateway's step for a call that needs approval: undefined when it may be forwarded now (its approval is spent),
 * else the answer (the prompt to approve, or the tool error of a denial or expiry) and the reason for the call audit.
 */
export async function approvalStep(
  approvals: CallApprovals,
  call: HeldCall,
  ask: AskInBrowser,
): Promise<{ answer: () => CallToolResult; reason: string } | undefined> {
  const gate = await approvals.gate(call);
  const upstreamName = call.upstream.settings.name;
  const what = `the call of tool "${call.exposedName}" (upstream "${upstreamName}")`;
  switch (gate.kind) {
    case 'approved':
      return undefined;
    case 'denied':
      return { reason: 'denied by the user', answer: () => toolError(`You denied ${what} with these arguments; it was not forwarded. Calling it again asks for approval anew.`) };
    case 'expired':
      return {
        reason: 'the approval expired',
        answer: () => toolError(`The approval of ${what} expired before the call was approved and retried; it was not forwarded. Calling it again asks for approval anew.`),
      };
    case 'ask': {
      const minutes = Math.max(1, Math.ceil((gate.approval.expiresAt - Date.now()) / 60_000));
      const prompt = {
        message: `Tool "${call.exposedName}" of upstream "${upstreamName}" needs your approval for this call.`,
        url: approvals.link(gate.approval.id),
        elicitationId: gate.approval.id,
        instructions: `sign in to Gatehouse, check the arguments and approve within ${minutes} minute${minutes === 1 ? '' : 's'}, then call the tool again with the same arguments.`,
        upstreamId: call.upstream.id,
      };
      return { reason: 'awaiting the user\'s approval', answer: () => ask(prompt) };
    }
  }
}

const toolError = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });
