import { VIRTUAL_SERVERS_CHANNEL, type VirtualServerRecord, type VirtualServerStore } from '../store/index.js';
import { notifiedCache, type NotifiedCacheOptions } from '../store/notified-cache.js';
import { upstreamVisibleTo } from './policy.js';
import type { Principal } from './principal.js';

/**
 * Curated tool sets ("virtual servers"): a name, served at /mcp/{name} as a resource of its own, listing and calling
 * only the gateway tools it names, for the users and groups it allows. Every other policy (upstream access, pins,
 * approvals, quotas) applies as at /mcp, because calls run the same pipeline (gateway-server.ts).
 */

/** Like an upstream's: open to everybody when it names neither users nor groups, else to those it names. */
export function virtualServerOpenTo(server: Pick<VirtualServerRecord, 'allowedUsers' | 'allowedGroups'>, principal: Pick<Principal, 'username' | 'groups'>): boolean {
  return upstreamVisibleTo({ allowed_users: server.allowedUsers ?? undefined, allowed_groups: server.allowedGroups ?? undefined }, principal);
}

/**
 * Virtual servers as /mcp reads them on every request (the guard, then the listing or the call): through a cache of
 * this process that every replica empties when a change is announced on VIRTUAL_SERVERS_CHANNEL, and this one also
 * at once when it made the change (`localChanges`: store/virtual-server-changes.ts; store/notified-cache.ts), so a request reads the store at most once, and a change or deletion reaches every
 * replica within a NOTIFY's delivery (while changes go unheard, within the cache's unheard lifetime). A name that is
 * not found is not kept: a new virtual server is served at once.
 */
export function cachedVirtualServers(
  store: Pick<VirtualServerStore, 'find'>,
  options: Omit<NotifiedCacheOptions, 'channel'>,
): Pick<VirtualServerStore, 'find'> & { close(): void } {
  const cache = notifiedCache({ ...options, channel: VIRTUAL_SERVERS_CHANNEL });
  return { find: (name) => cache.get(name, () => store.find(name)), close: () => cache.close() };
}

/** The gateway tool names a virtual server shows now; none once it is deleted. */
export async function virtualServerTools(store: Pick<VirtualServerStore, 'find'>, name: string): Promise<ReadonlySet<string>> {
  return new Set((await store.find(name))?.tools ?? []);
}
