import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { GrantRecord, RefreshTokenRecord } from '../../../src/store/index.js';
import { grantTouchDue } from '../../../src/store/sql/grants.js';
import pg from 'pg';
import { backends, createTestUsers, openTestStore, TEST_DATABASE_URL } from '../../helpers/backends.js';

const grant: GrantRecord = {
  id: 'grt_1',
  userId: 'usr_1',
  clientId: 'cli_1',
  scope: 'mcp:read mcp:write',
  resource: 'https://gate.example.com/mcp',
  createdAt: 1_000,
  expiresAt: 9_000_000_000_000,
  lastUsedAt: 2_000,
  revokedAt: 3_000,
  revokedReason: 'a reason',
};
const token: RefreshTokenRecord = {
  tokenHash: 'p1.hash',
  grantId: 'grt_1',
  scope: 'mcp:read',
  createdAt: 1_500,
  expiresAt: 8_000_000_000_000,
  rotatedAt: 2_500,
  replayResponse: 'v1.sealed',
};

for (const backend of backends) {
  describe(`refresh token with its grant on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_1', 'alice']]);
      await store.grants.create(grant);
      await store.refreshTokens.create(token);
    });
    afterEach(() => store.close());

    it('reads the token and its grant in one query, every field as the stores read them', async () => {
      const found = await store.refreshTokens.findWithGrant('p1.hash');
      assert.deepEqual(found, { token: await store.refreshTokens.find('p1.hash'), grant: await store.grants.find('grt_1') });
      assert.deepEqual(found, { token, grant });
    });

    it('an unknown hash finds nothing', async () => {
      assert.equal(await store.refreshTokens.findWithGrant('p1.other'), undefined);
    });
  });

  describe(`refresh token rotation on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    const live: RefreshTokenRecord = { ...token, tokenHash: 'p1.live', rotatedAt: null, replayResponse: null };
    const successor: RefreshTokenRecord = { ...live, tokenHash: 'p1.next', createdAt: 5_000 };
    const liveGrant: GrantRecord = { ...grant, lastUsedAt: null, revokedAt: null, revokedReason: null };
    const rotation = { tokenHash: 'p1.live', now: 5_000, replayResponse: 'v1.replay', successor, grant: liveGrant };
    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_1', 'alice']]);
      await store.grants.create(liveGrant);
      await store.refreshTokens.create(live);
    });
    afterEach(() => store.close());

    it('the winner retires the token with its replay copy, stores the successor and records the grant\'s use', async () => {
      assert.equal(await store.refreshTokens.rotate(rotation), 'won');
      assert.deepEqual(await store.refreshTokens.find('p1.live'), { ...live, rotatedAt: 5_000, replayResponse: 'v1.replay' });
      assert.deepEqual(await store.refreshTokens.find('p1.next'), successor);
      assert.equal((await store.grants.find('grt_1'))?.lastUsedAt, 5_000);
    });

    it('of concurrent rotations of one token exactly one wins, and a loser\'s successor never becomes live', async () => {
      const outcomes = await Promise.all(
        [1, 2, 3, 4].map((n) => store.refreshTokens.rotate({ ...rotation, replayResponse: `v1.replay${n}`, successor: { ...successor, tokenHash: `p1.next${n}` } })),
      );
      assert.deepEqual(outcomes.filter((outcome) => outcome === 'won').length, 1);
      const winner = outcomes.indexOf('won') + 1;
      assert.equal((await store.refreshTokens.find('p1.live'))?.replayResponse, `v1.replay${winner}`);
      for (const n of [1, 2, 3, 4]) assert.equal(Boolean(await store.refreshTokens.find(`p1.next${n}`)), n === winner);
    });

    it('an already rotated token loses and nothing is written', async () => {
      assert.equal(await store.refreshTokens.rotate({ ...rotation, successor: null }), 'won');
      assert.equal(await store.refreshTokens.rotate(rotation), 'lost');
      assert.equal(await store.refreshTokens.find('p1.next'), undefined);
    });

    it('a token whose grant was revoked after it was read loses and nothing is written', async () => {
      const read = await store.refreshTokens.findToRotate('p1.live');
      await store.grants.revoke('grt_1', 'revoked meanwhile', 4_000);
      assert.equal(await store.refreshTokens.rotate({ ...rotation, grant: read!.grant }), 'lost');
      assert.deepEqual(await store.refreshTokens.find('p1.live'), live);
      assert.equal(await store.refreshTokens.find('p1.next'), undefined);
    });

    it('a stored successor is found for its rotation with its grant, as a read finds them', async () => {
      assert.equal(await store.refreshTokens.rotate(rotation), 'won');
      const read = await store.refreshTokens.findWithGrant('p1.next');
      const found = await store.refreshTokens.findToRotate('p1.next');
      assert.deepEqual(found, read);
    });

    it('a stored successor is handed out without a read, and stale (its grant revoked since) it loses its rotation', async () => {
      assert.equal(await store.refreshTokens.rotate(rotation), 'won');
      await store.grants.revoke('grt_1', 'revoked meanwhile', 6_000);
      const found = await store.refreshTokens.findToRotate('p1.next');
      assert.equal(found?.grant.revokedAt, null, 'the grant as the rotation left it, not as it is now');
      const next = { ...rotation, tokenHash: 'p1.next', now: 7_000, successor: { ...successor, tokenHash: 'p1.third' }, grant: found!.grant };
      assert.equal(await store.refreshTokens.rotate(next), 'lost');
      assert.deepEqual(await store.refreshTokens.find('p1.next'), successor);
      assert.equal(await store.refreshTokens.find('p1.third'), undefined);
    });

    it('a successor found for its rotation once is read from the database the next time', async () => {
      assert.equal(await store.refreshTokens.rotate(rotation), 'won');
      await store.refreshTokens.findToRotate('p1.next');
      await store.grants.revoke('grt_1', 'revoked meanwhile', 6_000);
      assert.equal((await store.refreshTokens.findToRotate('p1.next'))?.grant.revokedAt, 6_000);
    });

    it('rotations of different tokens at once each win with their own successor and replay copy', async () => {
      const tokens = [1, 2, 3, 4, 5].map((n) => ({ ...live, tokenHash: `p1.live${n}` }));
      for (const each of tokens) await store.refreshTokens.create(each);
      const outcomes = await Promise.all(
        tokens.map((each, n) => store.refreshTokens.rotate({ ...rotation, tokenHash: each.tokenHash, now: 6_000 + n, replayResponse: `v1.r${n}`, successor: { ...successor, tokenHash: `p1.succ${n}` } })),
      );
      assert.deepEqual(outcomes, ['won', 'won', 'won', 'won', 'won']);
      for (const [n, each] of tokens.entries()) {
        assert.deepEqual(await store.refreshTokens.find(each.tokenHash), { ...each, rotatedAt: 6_000 + n, replayResponse: `v1.r${n}` });
        assert.deepEqual(await store.refreshTokens.find(`p1.succ${n}`), { ...successor, tokenHash: `p1.succ${n}` });
      }
      const lastUsedAt = (await store.grants.find('grt_1'))?.lastUsedAt ?? 0;
      assert.ok(lastUsedAt >= 6_000 && lastUsedAt <= 6_004, 'the grant records one of these uses (its last use is kept to the minute)');
    });

    if (backend === 'postgres') it('rotations requested at once commit in one transaction', async () => {
      const tokens = [1, 2, 3].map((n) => ({ ...live, tokenHash: `p1.live${n}` }));
      for (const each of tokens) await store.refreshTokens.create(each);
      await Promise.all(tokens.map((each, n) => store.refreshTokens.rotate({ ...rotation, tokenHash: each.tokenHash, successor: { ...successor, tokenHash: `p1.succ${n}` } })));
      // xmin is the id of the transaction that wrote the row version: one id, one commit.
      const writers = await store.database.all<{ writer: string }>(
        "SELECT DISTINCT xmin::text AS writer FROM refresh_tokens WHERE token_hash LIKE 'p1.live_' OR token_hash LIKE 'p1.succ_'",
      );
      assert.equal(writers.length, 1);
    });

    if (backend === 'postgres') it('a rotation PostgreSQL aborts as a deadlock victim is sent again and wins', async () => {
      const [{ schema }] = (await store.database.all<{ schema: string }>('SELECT current_schema() AS schema')) as [{ schema: string }];
      const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await other.connect();
      try {
        await other.query(`SET search_path = ${schema}`);
        await other.query('BEGIN');
        await other.query("SELECT 1 FROM oauth_grants WHERE id = 'grt_1' FOR UPDATE");
        // The rotation retires p1.live, then waits for the grant to record its use.
        const rotating = store.refreshTokens.rotate(rotation);
        const waiting = async () => (await store.database.all("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%retired AS%'")).length > 0;
        while (!(await waiting())) await new Promise((resolve) => setTimeout(resolve, 20));
        // The other transaction now waits for p1.live: a cycle, which PostgreSQL breaks by aborting the rotation.
        const crossing = other.query("UPDATE refresh_tokens SET scope = scope WHERE token_hash = 'p1.live'");
        await crossing;
        await other.query('COMMIT');
        assert.equal(await rotating, 'won');
        assert.deepEqual(await store.refreshTokens.find('p1.next'), successor);
      } finally {
        await other.end();
      }
    });

    it('a rotation that fails fails alone: the others requested with it still win', async () => {
      await store.refreshTokens.create({ ...live, tokenHash: 'p1.other' });
      const outcomes = await Promise.allSettled([
        store.refreshTokens.rotate(rotation),
        // Its successor's hash is taken (by p1.live itself): the insert fails on the primary key.
        store.refreshTokens.rotate({ ...rotation, tokenHash: 'p1.other', successor: { ...successor, tokenHash: 'p1.live' } }),
      ]);
      assert.deepEqual(outcomes[0], { status: 'fulfilled', value: 'won' });
      assert.equal(outcomes[1].status, 'rejected');
      assert.deepEqual(await store.refreshTokens.find('p1.next'), successor);
      assert.equal((await store.refreshTokens.find('p1.other'))?.rotatedAt, null, 'the failed rotation wrote nothing');
    });

    it('lookups at once each find their own token and grant, or nothing', async () => {
      const found = await Promise.all(['p1.live', 'p1.unknown', 'p1.live'].map((hash) => store.refreshTokens.findWithGrant(hash)));
      assert.equal(found[0]?.token.tokenHash, 'p1.live');
      assert.equal(found[0]?.grant.id, 'grt_1');
      assert.equal(found[1], undefined);
      assert.deepEqual(found[2], found[0]);
    });
  });
}

it('a grant touch is due when it was never used or last used over a minute ago', () => {
  assert.equal(grantTouchDue(null, 100_000), true);
  assert.equal(grantTouchDue(39_999, 100_000), true);
  assert.equal(grantTouchDue(40_000, 100_000), false);
  assert.equal(grantTouchDue(99_000, 100_000), false);
});
