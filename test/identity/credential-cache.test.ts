import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialCache, type CredentialCacheOptions } from '../../src/identity/credential-cache.js';
import { CREDENTIALS_CHANNEL, type CredentialChange, type NotificationHandler } from '../../src/store/index.js';

/** The cache's view of the fleet, driven by hand: messages heard on a channel, hearing lost and regained, local writes. */
function fleetSide(hearing = true) {
  const channels = new Map<string, NotificationHandler>();
  const hearingHandlers = new Set<(hears: boolean) => void>();
  const local = new Set<(change: CredentialChange) => void>();
  let hears = hearing;
  const options: Pick<CredentialCacheOptions, 'notifications' | 'localChanges'> = {
    notifications: {
      subscribe(channel, handler) {
        channels.set(channel, handler);
        return () => void channels.delete(channel);
      },
      hearsOtherProcesses: () => hears,
      onHearingChange(handler) {
        hearingHandlers.add(handler);
        return () => void hearingHandlers.delete(handler);
      },
    },
    localChanges: {
      subscribe(handler) {
        local.add(handler);
        return () => void local.delete(handler);
      },
    },
  };
  return {
    options,
    heardFromAnotherReplica: () => channels.get(CREDENTIALS_CHANNEL)?.({ table: 'oauth_grants' }, { fromThisProcess: false }),
    heardFromThisProcess: () => channels.get(CREDENTIALS_CHANNEL)?.({ table: 'api_keys' }, { fromThisProcess: true }),
    changedHere: () => {
      for (const handler of local) handler({ table: 'api_keys' });
    },
    setHearing(now: boolean) {
      hears = now;
      for (const handler of hearingHandlers) handler(now);
    },
  };
}

/** A loader that counts its database reads and answers the current value of the row. */
function countingLoader() {
  let row: { revoked: boolean } | undefined = { revoked: false };
  let reads = 0;
  return {
    load: async () => {
      reads += 1;
      return row && { ...row };
    },
    set: (next: typeof row) => (row = next),
    get reads() {
      return reads;
    },
  };
}

describe('credential cache', () => {
  let clock = 0;
  const build = (side: ReturnType<typeof fleetSide>, overrides: Partial<CredentialCacheOptions> = {}) =>
    credentialCache({ ...side.options, ttlMs: 10_000, fallbackTtlMs: 1_000, maxEntries: 100, now: () => clock, ...overrides });

  it('reads a credential once while changes are heard, until its lifetime ends', async () => {
    const cache = build(fleetSide());
    const row = countingLoader();
    clock = 0;
    await cache.get('grant:g1', row.load);
    clock = 9_999;
    await cache.get('grant:g1', row.load);
    assert.equal(row.reads, 1);
    clock = 10_000;
    await cache.get('grant:g1', row.load);
    assert.equal(row.reads, 2);
  });

  it('forgets everything when another replica announces a change, so the revoked row is read at once', async () => {
    const side = fleetSide();
    const cache = build(side);
    const row = countingLoader();
    clock = 0;
    assert.deepEqual(await cache.get('grant:g1', row.load), { revoked: false });
    row.set(undefined);
    side.heardFromAnotherReplica();
    assert.equal(await cache.get('grant:g1', row.load), undefined);
    assert.equal(row.reads, 2);
  });

  it("forgets everything at once on this process's own change, before any NOTIFY returns", async () => {
    const side = fleetSide();
    const cache = build(side);
    const row = countingLoader();
    await cache.get('api_key:k', row.load);
    row.set(undefined);
    side.changedHere();
    assert.equal(await cache.get('api_key:k', row.load), undefined);
  });

  it("empties once for this process's own change: its NOTIFY coming back keeps what was loaded since", async () => {
    const side = fleetSide();
    const cache = build(side);
    const row = countingLoader();
    side.changedHere();
    await cache.get('api_key:k', row.load);
    side.heardFromThisProcess();
    await cache.get('api_key:k', row.load);
    assert.equal(row.reads, 1);
  });

  it('does not keep a load that was under way when a change was heard (it may have read the old row)', async () => {
    const side = fleetSide();
    const cache = build(side);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const loading = cache.get('grant:g1', async () => {
      await slow;
      return { revoked: false };
    });
    side.heardFromAnotherReplica();
    release();
    await loading;
    assert.equal(cache.size, 0);
  });

  it('never caches a miss: an unknown credential is looked up on every request', async () => {
    const cache = build(fleetSide());
    const row = countingLoader();
    row.set(undefined);
    await cache.get('api_key:unknown', row.load);
    await cache.get('api_key:unknown', row.load);
    assert.equal(row.reads, 2);
  });

  it('while changes go unheard, an entry lives only the fallback lifetime; losing and regaining hearing empties it', async () => {
    const side = fleetSide();
    const cache = build(side);
    const row = countingLoader();
    clock = 0;
    await cache.get('grant:g1', row.load);
    side.setHearing(false);
    assert.equal(cache.size, 0, 'losing the channel empties the cache');
    await cache.get('grant:g1', row.load);
    clock = 999;
    await cache.get('grant:g1', row.load);
    assert.equal(row.reads, 2);
    clock = 1_000;
    await cache.get('grant:g1', row.load);
    assert.equal(row.reads, 3, 'the unheard lifetime bounds staleness');
    side.setHearing(true);
    assert.equal(cache.size, 0, 'regaining it empties the cache too: changes may have gone unheard meanwhile');
  });

  it('with a lifetime of 0 every lookup reads', async () => {
    const cache = build(fleetSide(), { ttlMs: 0 });
    const row = countingLoader();
    await cache.get('grant:g1', row.load);
    await cache.get('grant:g1', row.load);
    assert.equal(row.reads, 2);
  });

  it('holds at most maxEntries, the oldest going first', async () => {
    const cache = build(fleetSide(), { maxEntries: 2 });
    const row = countingLoader();
    clock = 0;
    for (const key of ['a', 'b', 'c']) await cache.get(key, row.load);
    assert.equal(cache.size, 2);
    await cache.get('a', row.load);
    assert.equal(row.reads, 4, 'the oldest entry was evicted');
  });

  it('after close it hears nothing and holds nothing', async () => {
    const side = fleetSide();
    const cache = build(side);
    await cache.get('grant:g1', countingLoader().load);
    cache.close();
    assert.equal(cache.size, 0);
  });
});
