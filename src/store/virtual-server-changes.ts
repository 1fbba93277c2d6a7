import type { VirtualServerStore } from './gateway-types.js';
import { localChangeHub, type LocalChanges } from './local-changes.js';
import type { Notifications } from './notifications.js';

/** The channel on which a virtual server's creation, change or deletion is announced (its name) to every process. */
export const VIRTUAL_SERVERS_CHANNEL = 'virtual_servers';

export interface VirtualServerChange {
  name: string;
}

/**
 * The virtual server store with each write announced once it has committed: to this process's listeners at once (so
 * a cache here never serves a narrowed or deleted virtual server after the write returns), then to every process.
 * A failed announcement does not fail the write: other processes' caches then expire it within their own lifetime.
 */
export function announcingVirtualServerChanges<T extends { virtualServers: VirtualServerStore }>(
  stores: T,
  notifications: Notifications,
): T & { virtualServerChanges: LocalChanges<VirtualServerChange> } {
  const local = localChangeHub<VirtualServerChange>();
  const announce = async (name: string) => {
    local.tell({ name });
    await notifications.publish(VIRTUAL_SERVERS_CHANNEL, { name } satisfies VirtualServerChange).catch(() => undefined);
  };
  const { virtualServers } = stores;
  return {
    ...stores,
    virtualServers: {
      ...virtualServers,
      async create(record) {
        await virtualServers.create(record);
        await announce(record.name);
      },
      async update(record) {
        const updated = await virtualServers.update(record);
        if (updated) await announce(record.name);
        return updated;
      },
      async delete(name) {
        const deleted = await virtualServers.delete(name);
        if (deleted) await announce(name);
        return deleted;
      },
    },
    virtualServerChanges: { subscribe: local.subscribe },
  };
}
