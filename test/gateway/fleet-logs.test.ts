import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fleetLogs, type FleetLogs, type UpstreamLog } from '../../src/gateway/fleet-logs.js';
import type { Database } from '../../src/store/db.js';
import { postgresNotifications, type Notifications } from '../../src/store/notifications.js';
import { openPostgres } from '../../src/store/postgres.js';
import { freshPostgresSchema } from '../helpers/backends.js';
import { waitFor } from '../helpers/wait-for.js';

/** Two replicas' log relays on one PostgreSQL schema (each with its own pool and listening connection). */
describe('upstream log messages across replicas', () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  const databases: Database[] = [];
  const buses: Notifications[] = [];
  const relays: FleetLogs[] = [];

  const replica = async () => {
    const database = openPostgres(schema.url, { max: 2 });
    databases.push(database);
    const bus = postgresNotifications(database, schema.url);
    buses.push(bus);
    const delivered: UpstreamLog[] = [];
    const relay = fleetLogs(bus, (log) => delivered.push(log), (error) => assert.fail(String(error)));
    relays.push(relay);
    await bus.ready();
    return { relay, delivered };
  };
  const log = (data: string): UpstreamLog => ({ upstreamId: 'u1', params: { level: 'info', data } });
  /** Room for copies that should not come to arrive (a NOTIFY between two local processes takes a few ms). */
  const settle = () => sleep(300);

  before(async () => {
    schema = await freshPostgresSchema();
    const migrated = openPostgres(schema.url, { max: 1 });
    await migrated.migrate();
    await migrated.close();
  });
  after(async () => {
    for (const relay of relays) relay.stop();
    for (const bus of buses) await bus.close();
    for (const database of databases) await database.close();
    await schema.drop();
  });

  it('a message only replica A’s connection received reaches the sessions of both A and B, once', async () => {
    const a = await replica();
    const b = await replica();
    a.relay.received(log('from a call served by A'));
    await waitFor('the message at B', () => (b.delivered.length === 1 ? true : undefined));
    await settle();
    assert.deepEqual(a.delivered, [log('from a call served by A')]);
    assert.deepEqual(b.delivered, [log('from a call served by A')]);
  });

  it('a message the upstream sent to every replica’s connection is delivered once on each', async () => {
    const a = await replica();
    const b = await replica();
    a.relay.received(log('broadcast'));
    b.relay.received(log('broadcast'));
    await settle();
    assert.deepEqual(a.delivered, [log('broadcast')]);
    assert.deepEqual(b.delivered, [log('broadcast')]);
  });

  it('a message repeated on one connection is delivered as often as it was sent, and a large one as well', async () => {
    const a = await replica();
    const b = await replica();
    const large = log('x'.repeat(20_000));
    a.relay.received(log('tick'));
    a.relay.received(log('tick'));
    a.relay.received(large);
    await waitFor('three messages at B', () => (b.delivered.length === 3 ? true : undefined));
    await settle();
    // Compared by what they say and their size: a failed comparison of the large one would print all of it.
    const summary = (logs: UpstreamLog[]) => logs.map(({ params }) => JSON.stringify(params).slice(0, 40) + JSON.stringify(params).length);
    assert.deepEqual(summary(b.delivered), summary([log('tick'), log('tick'), large]));
    assert.deepEqual(summary(a.delivered), summary([log('tick'), log('tick'), large]));
  });
});
