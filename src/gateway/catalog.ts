import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
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
import type { Upstream, UpstreamRegistry } from '../upstream/types.js';
import { JsonRpcError } from './forwarding.js';
import { hasUpstreamPrefix, upstreamNameMap, type UpstreamNameMap } from './tool-names.js';

/**
 * What each upstream lists (tools, resources, resource templates, prompts), fetched in full (every page of
 * the upstream's own pagination) and cached per registry, so that every session shares one copy and the
 * scope check can read tool annotations synchronously. An upstream's entry is dropped when it reports a
 * list change, when upstreams change, or when it reconnects with a new client; tools are then fetched again
 * at once, since the scope check depends on them.
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

/** A fetched list with its names mapped (tools and prompts); `names` is unused for resources. */
export interface Listed<K extends ListKind> {
  items: Lists[K];
  names: UpstreamNameMap;
}

interface Entry {
  client: Client;
  lists: { [K in ListKind]?: Promise<Listed<K>> };
  /** The settled tools, for synchronous lookups. Kept while the upstream is down, so calls can name it. */
  tools?: Listed<'tools'>;
}

export interface Catalog {
  /** Each given upstream's items of `kind`, fetched in parallel; an upstream that fails or times out lists nothing. */
  list<K extends ListKind>(kind: K, upstreams: Upstream[]): Promise<Array<{ upstream: Upstream; listed: Listed<K> }>>;
  /** The last fetched tools of an upstream (possibly from before it went down), without waiting. */
  cachedTools(upstreamId: string): Listed<'tools'> | undefined;
  /** Starts fetching the tools of every connected upstream not yet cached. */
  warm(): void;
}

const catalogs = new WeakMap<UpstreamRegistry, Catalog>();

/** The one catalog of `registry` (created on first use and kept as long as the registry lives). */
export function catalogFor(registry: UpstreamRegistry, options: { onError?: (upstream: Upstream, kind: ListKind, error: unknown) => void } = {}): Catalog {
  let catalog = catalogs.get(registry);
  if (!catalog) {
    catalog = createCatalog(registry, options.onError ?? (() => undefined));
    catalogs.set(registry, catalog);
  }
  return catalog;
}

function createCatalog(registry: UpstreamRegistry, onError: (upstream: Upstream, kind: ListKind, error: unknown) => void): Catalog {
  const entries = new Map<string, Entry>();
  /**
   * The last tools each per-user upstream listed, with whichever user's tokens: users without a connection of
   * their own still see them (and are asked to connect on calling one), even while no listing connection works.
   */
  const lastPersonalTools = new Map<string, Listed<'tools'>>();
  const isPersonal = (upstream: Upstream) => upstream.settings.auth_type === 'per_user_oauth';

  const entryFor = (upstream: Upstream, client: Client): Entry => {
    let entry = entries.get(upstream.id);
    if (!entry || entry.client !== client) {
      entry = { client, lists: {}, tools: entry?.tools };
      entries.set(upstream.id, entry);
    }
    return entry;
  };

  const fetchList = <K extends ListKind>(upstream: Upstream, entry: Entry, kind: K): Promise<Listed<K>> => {
    const cached = entry.lists[kind] as Promise<Listed<K>> | undefined;
    if (cached) return cached;
    const pending = fetchAllPages(upstream, entry.client, kind).then(
      (listed) => {
        if (kind === 'tools' && entries.get(upstream.id) === entry && entry.lists.tools === pending) entry.tools = listed as Listed<'tools'>;
        if (kind === 'tools' && isPersonal(upstream)) lastPersonalTools.set(upstream.id, listed as Listed<'tools'>);
        return listed;
      },
      (error: unknown) => {
        // Not cached: the next listing tries again.
        if (entry.lists[kind] === pending) delete entry.lists[kind];
        onError(upstream, kind, error);
        return { items: [], names: upstreamNameMap(upstream.settings.name, []) } as unknown as Listed<K>;
      },
    );
    (entry.lists as Record<K, Promise<Listed<K>>>)[kind] = pending;
    return pending;
  };

  const connectedClient = (upstream: Upstream): Client | undefined =>
    upstream.status().state === 'connected' ? upstream.client() : undefined;

  const refetchTools = (upstream: Upstream | undefined) => {
    const client = upstream && connectedClient(upstream);
    if (upstream && client) void fetchList(upstream, entryFor(upstream, client), 'tools');
  };

  registry.subscribe((event) => {
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

  return {
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
    cachedTools(upstreamId) {
      return entries.get(upstreamId)?.tools ?? lastPersonalTools.get(upstreamId);
    },
    warm() {
      for (const upstream of registry.all()) {
        const entry = entries.get(upstream.id);
        if (!entry?.lists.tools || entry.client !== upstream.client()) refetchTools(upstream);
      }
    },
  };
}

/** Every page of one list of one upstream, each page and the whole within the upstream's timeout. */
async function fetchAllPages<K extends ListKind>(upstream: Upstream, client: Client, kind: K): Promise<Listed<K>> {
  const { method, schema, capability } = listing[kind];
  const items: unknown[] = [];
  if (client.getServerCapabilities()?.[capability]) {
    const timeout = upstream.settings.timeout_ms;
    const signal = AbortSignal.timeout(timeout);
    let cursor: string | undefined;
    for (let page = 0; page < MAX_UPSTREAM_PAGES; page++) {
      const result = await client.request({ method, params: cursor === undefined ? {} : { cursor } }, schema, { timeout, signal });
      items.push(...((result as Record<string, unknown>)[kind] as unknown[]));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
  }
  const named = kind === 'tools' || kind === 'prompts' ? (items as Array<{ name: string }>).map((item) => item.name) : [];
  return { items: items as Lists[K], names: upstreamNameMap(upstream.settings.name, named) };
}

/** The upstream and original name behind an exposed tool name, from the cache (no upstream is asked). */
export function findTool(
  registry: UpstreamRegistry,
  catalog: Catalog,
  exposed: string,
): { upstream: Upstream; original: string; tool: Tool } | undefined {
  for (const upstream of registry.all()) {
    if (!hasUpstreamPrefix(exposed, upstream.settings.name)) continue;
    const cached = catalog.cachedTools(upstream.id);
    const original = cached?.names.original(exposed);
    const tool = original === undefined ? undefined : cached?.items.find((item) => item.name === original);
    if (original !== undefined && tool) return { upstream, original, tool };
  }
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
