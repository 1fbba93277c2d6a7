import type { Upstream } from '../upstream/types.js';
import type { GatewayLogger } from './session-events.js';

/**
 * Which upstream serves a resource URI that several offer. Resources keep the URIs their upstreams list (unlike tool
 * and prompt names, which take the upstream's prefix: a URI is the upstream's own address, used in its contents and
 * links), so two upstreams can list the same URI, or the same URI template. The rule, the same on every replica and
 * after every restart: the upstream whose name comes first (in code-point order, as `GET /api/mcp/clients` lists them)
 * among those the caller may see owns it. A client lists the URI (or template) once, the owner's entry, and reads and
 * subscriptions go to the owner. A URI no upstream lists belongs to the first upstream whose template matches it.
 * The others' entries are left out, and the gateway logs each pair of upstreams that clash once.
 */

export type ResourceKind = 'resources' | 'resourceTemplates';

/** One upstream's list of a resource kind, as the catalog (or a per-user connection) gave it. */
export interface ResourceList {
  upstream: Upstream;
  listed: { items: readonly unknown[] };
}

/** A URI (or template) that `shadowed` offers too, served by `owner`. */
export interface ShadowedResource {
  kind: ResourceKind;
  key: string;
  owner: Upstream;
  shadowed: Upstream;
}

/** The lists in the order that decides who owns a URI: by upstream name. */
export function byUpstreamName<T extends { upstream: Upstream }>(lists: T[]): T[] {
  const name = (list: T) => list.upstream.settings.name;
  return [...lists].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
}

/** What identifies an item of `kind`: a resource's URI, a template's URI template. */
const keyOf = (kind: ResourceKind, item: unknown): string => String((item as { uri?: unknown; uriTemplate?: unknown })[kind === 'resources' ? 'uri' : 'uriTemplate']);

/** The items of `lists` (in owning order, `byUpstreamName`) with each URI or template once, its owner's; and what was left out. */
export function ownedItems(kind: ResourceKind, lists: readonly ResourceList[]): { items: unknown[]; shadowed: ShadowedResource[] } {
  const owners = new Map<string, Upstream>();
  const items: unknown[] = [];
  const shadowed: ShadowedResource[] = [];
  for (const { upstream, listed } of lists) {
    for (const item of listed.items) {
      const key = keyOf(kind, item);
      const owner = owners.get(key);
      if (owner === undefined) {
        owners.set(key, upstream);
        items.push(item);
      } else if (owner.id !== upstream.id) {
        shadowed.push({ kind, key, owner, shadowed: upstream });
      }
    }
  }
  return { items, shadowed };
}

/**
 * Logs each pair of upstreams whose resources clash, once per gateway (per kind, owner and shadowed upstream), with
 * the URIs found clashing when it was first seen (the first `LOGGED_URIS`): an admin renames one of the upstreams to pick the owner, or changes
 * an upstream's URIs. Memory grows with pairs of upstreams only.
 */
/** How many of a pair's clashing URIs a warning names (`count` says how many there were). */
const LOGGED_URIS = 10;

export function shadowedResourceLog(logger: GatewayLogger): (shadowed: readonly ShadowedResource[]) => void {
  const reported = new Set<string>();
  return (shadowed) => {
    const pairs = new Map<string, { kind: ResourceKind; owner: string; shadowed: string; uris: string[]; count: number }>();
    for (const entry of shadowed) {
      const pair = `${entry.kind}\0${entry.owner.id}\0${entry.shadowed.id}`;
      if (reported.has(pair)) continue;
      const found = pairs.get(pair) ?? { kind: entry.kind, owner: entry.owner.settings.name, shadowed: entry.shadowed.settings.name, uris: [], count: 0 };
      if (found.uris.length < LOGGED_URIS) found.uris.push(entry.key);
      found.count++;
      pairs.set(pair, found);
    }
    for (const [pair, details] of pairs) {
      reported.add(pair);
      logger.warn(details, 'two upstreams offer the same resource URIs: the upstream whose name comes first serves them, the other one’s are not listed');
    }
  };
}
