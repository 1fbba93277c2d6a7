import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgres } from '../../src/store/postgres.js';
import { inProcessNotifications, MAX_NOTIFY_BYTES, postgresNotifications, type Notifications } from '../../src/store/notifications.js';
import type { Database } from '../../src/store/db.js';
import { freshPostgresSchema } from '../helpers/backends.js';

/** Collects what one subscriber receives, and lets a test wait for the next message. */
function inbox(notifications: Notifications, channel: string) {
  const received: Array<{ payload: unknown; fromThisProcess: boolean }> = [];
  const arrivals = new EventEmitter();
  notifications.subscribe(channel, (payload, origin) => {
    received.push({ payload, ...origin });
    arrivals.emit('message');
  });
  return {
    received,
    async next() {
      if (received.length === 0) await once(arrivals, 'message');
      return received.shift()!;
    },
  };
}

describe('in-process notifications (SQLite)', () => {
  it("delivers to this process's subscribers of the channel, marked as from this process", async () => {
    const notifications = inProcessNotifications();
    const box = inbox(notifications, 'upstreams');
    const other = inbox(notifications, 'sessions');
    await notifications.publish('upstreams', { id: 'u1' });
    assert.deepEqual(await box.next(), { payload: { id: 'u1' }, fromThisProcess: true });
    assert.equal(other.received.length, 0);
  });

  it('delivers a payload over PostgreSQL’s NOTIFY limit as it is', async () => {
    const notifications = inProcessNotifications();
    const box = inbox(notifications, 'answers');
    const large = { text: 'x'.repeat(3 * MAX_NOTIFY_BYTES) };
    await notifications.publish('answers', large);
    assert.deepEqual((await box.next()).payload, large);
  });
});

describe('PostgreSQL notifications (LISTEN/NOTIFY)', () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let otherSchema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  const databases: Database[] = [];
  const opened: Notifications[] = [];
  /** One process's side: its own pool and its own listening connection. */
  const processOn = (url: string) => {
    const database = openPostgres(url, { max: 2 });
    databases.push(database);
    const notifications = postgresNotifications(database, url);
    opened.push(notifications);
    return notifications;
  };

  before(async () => {
    schema = await freshPostgresSchema();
    otherSchema = await freshPostgresSchema();
    // The fleet_messages table, for large messages.
    const migrated = openPostgres(schema.url, { max: 1 });
    await migrated.migrate();
    await migrated.close();
  });
  after(async () => {
    for (const notifications of opened) await notifications.close();
    for (const database of databases) await database.close();
    await schema.drop();
    await otherSchema.drop();
  });

  it("reaches another process's subscriber, and the publisher's own marked as its own", async () => {
    const a = processOn(schema.url);
    const b = processOn(schema.url);
    const atA = inbox(a, 'upstreams');
    const atB = inbox(b, 'upstreams');
    await Promise.all([a.ready(), b.ready()]);
    await a.publish('upstreams', { id: 'u1', kind: 'changed' });
    assert.deepEqual(await atB.next(), { payload: { id: 'u1', kind: 'changed' }, fromThisProcess: false });
    assert.deepEqual(await atA.next(), { payload: { id: 'u1', kind: 'changed' }, fromThisProcess: true });
  });

  it('keeps installations in different schemas of one database apart', async () => {
    const here = processOn(schema.url);
    const elsewhere = processOn(otherSchema.url);
    const atHere = inbox(here, 'sessions');
    const atElsewhere = inbox(elsewhere, 'sessions');
    await Promise.all([here.ready(), elsewhere.ready()]);
    await elsewhere.publish('sessions', 'theirs');
    await here.publish('sessions', 'ours');
    assert.deepEqual((await atHere.next()).payload, 'ours');
    assert.deepEqual((await atElsewhere.next()).payload, 'theirs');
    assert.deepEqual(atHere.received, []);
  });

  it('carries a payload over the NOTIFY limit through fleet_messages, in order with the small ones around it', async () => {
    const a = processOn(schema.url);
    const b = processOn(schema.url);
    const atB = inbox(b, 'answers');
    await Promise.all([a.ready(), b.ready()]);
    const large = { text: 'é'.repeat(20_000) };
    await a.publish('answers', 'before');
    await a.publish('answers', large);
    await a.publish('answers', 'after');
    assert.deepEqual(await atB.next(), { payload: 'before', fromThisProcess: false });
    assert.deepEqual(await atB.next(), { payload: large, fromThisProcess: false });
    assert.deepEqual(await atB.next(), { payload: 'after', fromThisProcess: false });
  });

  it('listens again after its connection is lost', async () => {
    const publisher = processOn(schema.url);
    const listener = processOn(schema.url);
    const box = inbox(listener, 'reconnect-test');
    await listener.ready();
    const admin = new pg.Client({ connectionString: schema.url });
    await admin.connect();
    try {
      // Every listening connection of this schema's processes is cut, as a PostgreSQL restart would.
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gatehouse-notifications' AND query LIKE '%reconnect-test%'");
      assert.equal(cut.rowCount, 1);
    } finally {
      await admin.end();
    }
    // Published until one arrives: messages sent while it was away are lost by design.
    const timer = setInterval(() => void publisher.publish('reconnect-test', 'again').catch(() => undefined), 100);
    try {
      assert.equal((await box.next()).payload, 'again');
    } finally {
      clearInterval(timer);
    }
  });

  it('holds its listening connection only while something listens', async () => {
    const notifications = processOn(schema.url);
    const connections = async () => {
      const admin = new pg.Client({ connectionString: schema.url });
      await admin.connect();
      try {
        const found = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'gatehouse-notifications' AND query LIKE '%idle-test%'");
        return found.rowCount;
      } finally {
        await admin.end();
      }
    };
    const unsubscribe = notifications.subscribe('idle-test', () => undefined);
    await notifications.ready();
    assert.equal(await connections(), 1);
    unsubscribe();
    for (let attempt = 0; (await connections()) !== 0; attempt++) {
      assert.ok(attempt < 100, 'the connection closes');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});
