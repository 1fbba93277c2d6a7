import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cachedVirtualServers } from '../../src/gateway/virtual-servers.js';
import { VIRTUAL_SERVERS_CHANNEL } from '../../src/store/index.js';
import type { Notifications, OpenedStore, VirtualServerRecord, VirtualServerStore } from '../../src/store/index.js';
import { inProcessNotifications } from '../../src/store/notifications.js';
import { announcingVirtualServerChanges } from '../../src/store/virtual-server-changes.js';
import { holdsWithin, postgresProcesses } from '../helpers/postgres-processes.js';

const record = (name: string, tools: string[]): VirtualServerRecord => ({ name, description: null, tools, allowedUsers: null, allowedGroups: null, createdAt: 1, updatedAt: 1 });

/** A store of one table that counts its reads. */
function countingStore() {
  const rows = new Map<string, VirtualServerRecord>();
  let reads = 0;
  return {
    rows,
    store: {
      find: async (name: string) => {
        reads += 1;
        return rows.get(name);
      },
    },
    get reads() {
      return reads;
    },
  };
}

describe('virtual servers cached per process', () => {
  const lifetimes = { ttlMs: 60_000, fallbackTtlMs: 60_000, maxEntries: 10 };

  it('reads a virtual server from the store once, until a change is announced on its channel', async () => {
    const notifications = inProcessNotifications();
    const table = countingStore();
    table.rows.set('docs', record('docs', ['a']));
    const cached = cachedVirtualServers(table.store, { notifications, ...lifetimes });
    assert.deepEqual((await cached.find('docs'))?.tools, ['a']);
    assert.deepEqual((await cached.find('docs'))?.tools, ['a']);
    assert.equal(table.reads, 1);
    table.rows.set('docs', record('docs', ['a', 'b']));
    await notifications.publish(VIRTUAL_SERVERS_CHANNEL, { name: 'docs' });
    assert.deepEqual((await cached.find('docs'))?.tools, ['a', 'b']);
    assert.equal(table.reads, 2);
    cached.close();
  });

  it("this process's own change is seen by its cache as soon as the write returns, before any notification comes back", async () => {
    const rows = new Map<string, VirtualServerRecord>();
    const table: VirtualServerStore = {
      list: async () => [...rows.values()],
      find: async (name) => rows.get(name),
      create: async (row) => void rows.set(row.name, row),
      update: async (row) => rows.has(row.name) && Boolean(rows.set(row.name, { ...rows.get(row.name)!, ...row })),
      delete: async (name) => rows.delete(name),
    };
    // Notifications that are published but never come back (PostgreSQL's echo still on its way).
    const silent: Notifications = { ...inProcessNotifications(), publish: async () => undefined };
    const stores = announcingVirtualServerChanges({ virtualServers: table }, silent);
    const cached = cachedVirtualServers(stores.virtualServers, { notifications: silent, localChanges: stores.virtualServerChanges, ...lifetimes });
    await stores.virtualServers.create(record('docs', ['a']));
    assert.deepEqual((await cached.find('docs'))?.tools, ['a']);
    await stores.virtualServers.update({ ...record('docs', []), allowedUsers: ['alice'] });
    assert.deepEqual((await cached.find('docs'))?.allowedUsers, ['alice'], 'a narrowed virtual server is narrowed at once');
    await stores.virtualServers.delete('docs');
    assert.equal(await cached.find('docs'), undefined, 'a deleted virtual server is gone at once');
    cached.close();
  });

  it('keeps no miss: a virtual server created after a lookup is served at once', async () => {
    const table = countingStore();
    const cached = cachedVirtualServers(table.store, { notifications: inProcessNotifications(), ...lifetimes });
    assert.equal(await cached.find('new'), undefined);
    table.rows.set('new', record('new', ['x']));
    assert.deepEqual((await cached.find('new'))?.tools, ['x']);
    cached.close();
  });
});

describe('virtual servers cached across processes on PostgreSQL (LISTEN/NOTIFY)', { timeout: 60_000 }, () => {
  let fleet: Awaited<ReturnType<typeof postgresProcesses>>;
  let storeA: OpenedStore;
  let cachedAtB: ReturnType<typeof cachedVirtualServers>;

  /** Whether B's view satisfies `check` within 1 s (the fleet's bound while the channel works). */
  const atBWithinOneSecond = (name: string, check: (found: VirtualServerRecord | undefined) => boolean) =>
    holdsWithin(1_000, async () => check(await cachedAtB.find(name)));

  before(async () => {
    fleet = await postgresProcesses();
    storeA = (await fleet.open()).store;
    const b = await fleet.open();
    // Entries would live a minute: only a heard change can end them within the test.
    cachedAtB = cachedVirtualServers(b.store.virtualServers, { notifications: b.notifications, ttlMs: 60_000, fallbackTtlMs: 60_000, maxEntries: 10 });
    await fleet.listening(b);
  });
  after(async () => {
    cachedAtB?.close();
    await fleet?.close();
  });

  it("a change and a deletion written by A (the store announces them) reach B's cached view within 1 s", async () => {
    await storeA.virtualServers.create(record('team', ['one']));
    assert.deepEqual((await cachedAtB.find('team'))?.tools, ['one'], 'B caches the virtual server');
    await storeA.virtualServers.update({ ...record('team', ['one', 'two']), updatedAt: 2 });
    assert.ok(await atBWithinOneSecond('team', (found) => found?.tools.length === 2), 'B shows the new tools within 1 s');
    await storeA.virtualServers.delete('team');
    assert.ok(await atBWithinOneSecond('team', (found) => found === undefined), 'B no longer serves it within 1 s');
  });
});
