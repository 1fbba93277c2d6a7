import {
  ErrorCode,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListToolsResultSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { connectsPerUser, type Upstream, type UpstreamRegistry } from '../upstream/types.js';
import type { ToolRejected } from '../upstream/streamable-http/tool-param-headers.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import { combineHints, hintOfResult, type CacheHint } from './cache-hints.js';
import { JsonRpcError } from './forwarding.js';
import { exposedNames, type ExposedNames, type NameCollision } from './tool-names.js';

/**
 * What each upstream lists (tools, resources, resource templates, prompts), fetched in full (every page of
 * the upstream's own pagination) and cached once per gateway, so that every session shares one copy and the
 * scope check can read tool annotations synchronously. An upstream's entry is dropped when it reports a
 * list change, when upstreams change, or when it reconnects with a new client; tools are then fetched again
 * at once, since the scope check depends on them. Exposed names of tools and prompts are worked out here over
 * every upstream's last fetched list (tool-names.ts), so listing, the scope check and calls agree on them.
 */

export interface Lists {
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  prompts: Prompt[];
}
export type ListKind = keyof Lists;

const listing = {
  tools: { method: 'tools/list', schema: ListToolsResultSchema, capability: 'tools' },
  resources: { method: 'resources/list', schema: ListResourcesResultSchema, capability: 'resources' },
  resourceTemplates: { method: 'resources/templates/list', schema: ListResourceTemplatesResultSchema, capability: 'resources' },
  prompts: { method: 'prompts/list', schema: ListPromptsResultSchema, capability: 'prompts' },
} as const;

// An upstream that pages forever (or in a loop) must not hold a listing hostage.
const MAX_UPSTREAM_PAGES = 100;

/** A fetched list of one upstream, and the cache hint its pages carried (the most careful of them). */
export interface Listed<K extends ListKind> {
  items: Lists[K];
  hint?: CacheHint;
}

/** The kinds whose items have names the gateway exposes (resources keep their URIs). */
export type NamedKind = 'tools' | 'prompts';

interface Entry {
  client: UpstreamClient;
  lists: { [K in ListKind]?: Promise<Listed<K>> };
  /** The settled tools, for synchronous lookups. Kept while the upstream is down, so calls can name it. */
  tools?: Listed<'tools'>;
  /** The settled prompts, for naming; kept until a new list replaces them. */
  prompts?: Listed<'prompts'>;
}

export interface Catalog {
  /** Each given upstream's items of `kind`, fetched in parallel; an upstream that fails or times out lists nothing. */
  list<K extends ListKind>(kind: K, upstreams: Upstream[]): Promise<Array<{ upstream: Upstream; listed: Listed<K> }>>;
  /** The last fetched tools of an upstream (possibly from before it went down), without waiting. */
  cachedTools(upstreamId: string): Listed<'tools'> | undefined;
  /** Starts fetching the tools of every connected upstream not yet cached. */
  warm(): void;
  /** The exposed names of every upstream's last fetched tools or prompts, without waiting. */
  names(kind: NamedKind): ExposedNames;
  /** Stops following the registry's events. */
  close(): void;
}

export interface CatalogOptions {
  onError?: (upstream: Upstream, kind: ListKind, error: unknown) => void;
  /** Bare names that could not be used (tool-names.ts), each time the set of them changes. */
  onNameCollisions?: (kind: NamedKind, collisions: NameCollision[]) => void;
  /** Sees every fresh tool listing before it is used (tool pinning); a failure fails the listing. */
  reviewTools?: (upstream: Upstream, tools: Tool[]) => Promise<void>;
  /** A tool the upstream client left out of a listing (invalid `x-mcp-header` declarations), with why. */
  onToolRejected?: (upstream: Upstream, tool: string, reason: string) => void;
}

/** The catalog of `registry`: one per gateway (gateway-state.ts), shared by all its sessions. */
export function createCatalog(
  registry: UpstreamRegistry,
  { onError = () => undefined, onNameCollisions = () => undefined, reviewTools = async () => undefined, onToolRejected }: CatalogOptions = {},
): Catalog {
  const entries = new Map<string, Entry>();
  /**
   * The last tools each per-user upstream listed, with whichever user's tokens: users without a connection of
   * their own still see them (and are asked to connect on calling one), even while no listing connection works.
   */
  const lastPersonalTools = new Map<string, Listed<'tools'>>();

  const entryFor = (upstream: Upstream, client: UpstreamClient): Entry => {
    let entry = entries.get(upstream.id);
    if (!entry || entry.client !== client) {
      entry = { client, lists: {}, tools: entry?.tools, prompts: entry?.prompts };
      entries.set(upstream.id, entry);
    }
    return entry;
  };

  const fetchList = <K extends ListKind>(upstream: Upstream, entry: Entry, kind: K): Promise<Listed<K>> => {
    const cached = entry.lists[kind] as Promise<Listed<K>> | undefined;
    if (cached) return cached;
    const reviewed = async () => {
      const listed = await fetchAllPages(upstream, entry.client, kind, onToolRejected && ((tool, reason) => onToolRejected(upstream, tool, reason)));
      if (kind === 'tools') await reviewTools(upstream, listed.items as Tool[]);
      return listed;
    };
    const pending = reviewed().then(
      (listed) => {
        const current = entries.get(upstream.id) === entry && entry.lists[kind] === pending;
        if (kind === 'tools' && current) entry.tools = listed as Listed<'tools'>;
        if (kind === 'prompts' && current) entry.prompts = listed as Listed<'prompts'>;
        if (kind === 'tools' && connectsPerUser(upstream.settings)) lastPersonalTools.set(upstream.id, listed as Listed<'tools'>);
        return listed;
      },
      (error: unknown) => {
        // Not cached: the next listing tries again.
        if (entry.lists[kind] === pending) delete entry.lists[kind];
        onError(upstream, kind, error);
        return { items: [] } as unknown as Listed<K>;
      },
    );
    (entry.lists as Record<K, Promise<Listed<K>>>)[kind] = pending;
    return pending;
  };

  const connectedClient = (upstream: Upstream): UpstreamClient | undefined =>
    upstream.status().state === 'connected' ? upstream.client() : undefined;

  const refetchTools = (upstream: Upstream | undefined) => {
    const client = upstream && connectedClient(upstream);
    if (upstream && client) void fetchList(upstream, entryFor(upstream, client), 'tools');
  };

  const unsubscribe = registry.subscribe((event) => {
    if (event.kind === 'upstreams_changed') {
      entries.clear();
      for (const id of lastPersonalTools.keys()) if (!registry.get(id)) lastPersonalTools.delete(id);
      for (const upstream of registry.all()) refetchTools(upstream);
      return;
    }
    const entry = entries.get(event.upstreamId);
    if (!entry) return;
    if (event.kind === 'tools_changed') {
      // A changed list may change annotations: forget the old tools so no stale readOnlyHint is trusted.
      delete entry.lists.tools;
      entry.tools = undefined;
      refetchTools(registry.get(event.upstreamId));
    } else if (event.kind === 'resources_changed') {
      delete entry.lists.resources;
      delete entry.lists.resourceTemplates;
    } else if (event.kind === 'prompts_changed') {
      delete entry.lists.prompts;
    }
  });

  const cachedTools = (upstreamId: string) => entries.get(upstreamId)?.tools ?? lastPersonalTools.get(upstreamId);
  const settled = (kind: NamedKind, upstreamId: string): Listed<NamedKind> | undefined =>
    kind === 'tools' ? cachedTools(upstreamId) : entries.get(upstreamId)?.prompts;

  // Worked out again only when an upstream, its settings or a settled list changed (tools/call looks names up).
  const named: Record<NamedKind, { inputs: unknown[]; names: ExposedNames; reported: string } | undefined> = { tools: undefined, prompts: undefined };
  const unchanged = (kind: NamedKind, upstreams: readonly Upstream[], inputs: readonly unknown[]) =>
    inputs.length === upstreams.length * 3 &&
    upstreams.every((upstream, index) => inputs[index * 3] === upstream.id && inputs[index * 3 + 1] === upstream.settings && inputs[index * 3 + 2] === settled(kind, upstream.id));
  const names = (kind: NamedKind): ExposedNames => {
    const upstreams = registry.all();
    const last = named[kind];
    // Compared in place: every tools/call asks, and the answer is nearly always the last one.
    if (last && unchanged(kind, upstreams, last.inputs)) return last.names;
    const inputs = upstreams.flatMap((upstream) => [upstream.id, upstream.settings, settled(kind, upstream.id)]);
    const fresh = exposedNames(
      upstreams.map((upstream) => ({
        id: upstream.id,
        name: upstream.settings.name,
        prefixed: upstream.settings.tool_name_prefix !== false,
        originals: settled(kind, upstream.id)?.items.map((item) => item.name),
      })),
    );
    const reported = JSON.stringify(fresh.collisions);
    if (fresh.collisions.length > 0 && reported !== last?.reported) onNameCollisions(kind, fresh.collisions);
    named[kind] = { inputs, names: fresh, reported };
    return fresh;
  };

  return {
    names,
    async list(kind, upstreams) {
      const settled = await Promise.all(
        upstreams.map(async (upstream) => {
          const client = connectedClient(upstream);
          const remembered = kind === 'tools' ? lastPersonalTools.get(upstream.id) : undefined;
          if (!client) return remembered && { upstream, listed: remembered as unknown as Listed<typeof kind> };
          return { upstream, listed: await fetchList(upstream, entryFor(upstream, client), kind) };
        }),
      );
      return settled.filter((item) => item !== undefined);
    },
    cachedTools,
    warm() {
      for (const upstream of registry.all()) {
        const entry = entries.get(upstream.id);
        if (!entry?.lists.tools || entry.client !== upstream.client()) refetchTools(upstream);
      }
    },
    close: unsubscribe,
  };
}

/** Every page of one list of one upstream, each page and the whole within the upstream's timeout; `onToolRejected`: see UpstreamRequestOptions. */
export async function fetchAllPages<K extends ListKind>(upstream: Upstream, client: UpstreamClient, kind: K, onToolRejected?: ToolRejected): Promise<Listed<K>> {
  const { method, schema, capability } = listing[kind];
  const items: unknown[] = [];
  const hints: CacheHint[] = [];
  if (client.getServerCapabilities()?.[capability]) {
    const timeout = upstream.settings.timeout_ms;
    const signal = AbortSignal.timeout(timeout);
    let cursor: string | undefined;
    for (let page = 0; page < MAX_UPSTREAM_PAGES; page++) {
      const result = await client.forward({ method, params: cursor === undefined ? {} : { cursor } }, schema, { timeoutMs: timeout, signal, onToolRejected });
      items.push(...((result as Record<string, unknown>)[kind] as unknown[]));
      hints.push(hintOfResult(result));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
  }
  return { items: items as Lists[K], hint: combineHints(hints) };
}

/** The upstream and original name behind an exposed tool name, from the cache (no upstream is asked). */
export function findTool(
  registry: UpstreamRegistry,
  catalog: Catalog,
  exposed: string,
): { upstream: Upstream; original: string; tool: Tool } | undefined {
  const owner = catalog.names('tools').resolve(exposed);
  const upstream = owner && registry.get(owner.upstreamId);
  if (!upstream) return undefined;
  // A loop, not `find`: asked twice per tools/call (its scopes, then the call), a closure each time.
  const items = catalog.cachedTools(upstream.id)?.items;
  if (items) for (const tool of items) if (tool.name === owner.original) return { upstream, original: owner.original, tool };
  return undefined;
}

/** How many items one page of a merged list holds towards the client. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * One page of a merged list. The cursor is opaque to clients: base64url of the list kind and an offset into
 * the merged list, which is rebuilt from the cache on each request (a list that changes between pages is
 * announced by list_changed, after which clients list again from the start).
 */
export function pageOf<T>(kind: ListKind, items: T[], cursor: string | undefined, pageSize: number): { page: T[]; nextCursor?: string } {
  const offset = cursor === undefined ? 0 : offsetFrom(kind, cursor);
  if (offset === undefined) throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid cursor');
  const end = offset + pageSize;
  const nextCursor = end < items.length ? Buffer.from(JSON.stringify({ k: kind, o: end })).toString('base64url') : undefined;
  return { page: items.slice(offset, end), ...(nextCursor === undefined ? {} : { nextCursor }) };
}

function offsetFrom(kind: ListKind, cursor: string): number | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const { k, o } = (decoded ?? {}) as { k?: unknown; o?: unknown };
    return k === kind && Number.isSafeInteger(o) && (o as number) >= 0 ? (o as number) : undefined;
  } catch {
    return undefined;
  }
}
