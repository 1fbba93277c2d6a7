import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once, EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { credentialCache, type CredentialCache } from '../../src/identity/credential-cache.js';
import type { OpenedStore } from '../../src/store/index.js';
import type { Notifications } from '../../src/store/notifications.js';
import { holdsWithin, postgresProcesses } from '../helpers/postgres-processes.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Two processes on one PostgreSQL schema: A revokes, B serves from its credential cache. B's entries would live a
 * minute (its clock stands still unless a test moves it), so only a heard change, or the short lifetime while B
 * cannot hear, can end them.
 */

const FALLBACK_MS = 1_000;
/** The fleet's promise for a revocation while the channel works. */
const FLEET_BOUND_MS = 1_000;

describe('credential cache across processes on PostgreSQL (LISTEN/NOTIFY)', { timeout: 60_000 }, () => {
  let fleet: Awaited<ReturnType<typeof postgresProcesses>>;
  let storeA: OpenedStore;
  let notificationsB: Notifications;
  let storeB: OpenedStore;
  let cacheB: CredentialCache;
  let clock = 0;
  const hearing = new EventEmitter();

  /** A fresh API key of a fresh user, written by A. */
  let serial = 0;
  const newKey = async () => {
    serial += 1;
    const userId = `usr_cache_${serial}`;
    await storeA.users.create({ id: userId, username: `cache-${serial}`, passwordHash: 'x', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
    const id = `key_cache_${serial}`;
    await storeA.apiKeys.create({ id, userId, name: 'k', tokenHash: `hash-${serial}`, hint: 'gth_ak_xxxx', createdAt: 1, lastUsedAt: null, revokedAt: null });
    return id;
  };
  /** B's view of the key through its cache: the record while live, undefined once revoked. */
  const liveAtB = (id: string) => cacheB.get(`api_key:${id}`, async () => {
    const key = await storeB.apiKeys.findById(id);
    return key && key.revokedAt === null ? key : undefined;
  });
  const revokedAtBWithin = (id: string, ms: number) => holdsWithin(ms, async () => (await liveAtB(id)) === undefined);

  before(async () => {
    fleet = await postgresProcesses();
    // A only writes: nothing of it listens.
    storeA = (await fleet.open()).store;
    const b = await fleet.open();
    storeB = b.store;
    notificationsB = b.notifications;
    cacheB = credentialCache({ notifications: notificationsB, localChanges: storeB.credentialChanges, ttlMs: 60_000, fallbackTtlMs: FALLBACK_MS, maxEntries: 100, now: () => clock });
    notificationsB.onHearingChange((hears) => hearing.emit(hears ? 'up' : 'down'));
    await fleet.listening(b);
  });
  after(async () => {
    cacheB?.close();
    await fleet?.close();
  });

  it('a revocation through A stops the cached key on B within 1 s', async () => {
    const id = await newKey();
    assert.ok(await liveAtB(id), 'B caches the live key');
    assert.equal(await storeA.apiKeys.revoke(id, 2), true);
    assert.ok(await revokedAtBWithin(id, FLEET_BOUND_MS), 'B refuses the key within 1 s of the revocation');
  });

  it('when its LISTEN connection is cut, B empties its cache, bounds staleness to the fallback lifetime, and listens again', async () => {
    const cachedBefore = await newKey();
    assert.ok(await liveAtB(cachedBefore));

    const down = once(hearing, 'down');
    const digest = createHash('sha256').update(new URL(fleet.schema.url).searchParams.get('options')!.replace('-c search_path=', '')).digest('hex').slice(0, 12);
    const admin = new pg.Client({ connectionString: fleet.schema.url });
    await admin.connect();
    try {
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gatehouse-notifications' AND query LIKE $1", [`%gatehouse_${digest}_credentials%`]);
      assert.equal(cut.rowCount, 1, "B's one listening connection is cut");
    } finally {
      await admin.end();
    }
    await down;
    assert.equal(notificationsB.hearsOtherProcesses(), false);
    assert.equal(cacheB.size, 0, 'what B cached while hearing is forgotten (a change may now go unheard)');

    // Loaded while deaf, then revoked by A: B may serve it only until the fallback lifetime ends.
    const cachedWhileDeaf = await newKey();
    assert.ok(await liveAtB(cachedWhileDeaf));
    await storeA.apiKeys.revoke(cachedWhileDeaf, 2);
    clock += FALLBACK_MS;
    assert.equal(await liveAtB(cachedWhileDeaf), undefined, 'after the fallback lifetime the revocation is seen');

    await waitFor('B listens again', () => (notificationsB.hearsOtherProcesses() ? true : undefined));
    const afterReconnect = await newKey();
    assert.ok(await liveAtB(afterReconnect));
    await storeA.apiKeys.revoke(afterReconnect, 2);
    assert.ok(await revokedAtBWithin(afterReconnect, FLEET_BOUND_MS), 'revocations are heard again once it reconnected');
  });
});
