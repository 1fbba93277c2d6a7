import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { retentionSweeper } from '../../src/ops/retention.js';
import { backends, openTestStore } from '../helpers/backends.js';
import { publicClientRecord } from '../helpers/grant-fixtures.js';
import { DAY, HOUR, keysIn, NOW, retentionConfig, SECOND, storeCode, storeGrantRow, storeRefreshToken, storeUser, sweepAt } from './retention-fixtures.js';

type TestStore = Awaited<ReturnType<typeof openTestStore>>;

for (const backend of backends) {
  describe(`retention of the authorization server's rows on ${backend}`, () => {
    let store: TestStore;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await storeUser(store);
      await storeGrantRow(store, 'grt_live', 'usr_1');
    });
    afterEach(() => store.close());

    const replayOf = async (tokenHash: string) => (await store.refreshTokens.find(tokenHash))?.replayResponse;

    it('a replay copy is dropped once its grace window (10 s by default) has passed, and kept inside it', async () => {
      await storeRefreshToken(store, 'rt_in_grace', 'grt_live', { rotatedAt: NOW - 5 * SECOND, replay: true });
      await storeRefreshToken(store, 'rt_past_grace', 'grt_live', { rotatedAt: NOW - 11 * SECOND, replay: true });
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['refresh_tokens/replay_copy'], 1);
      assert.equal(await replayOf('rt_in_grace'), 'sealed-successor');
      assert.equal(await replayOf('rt_past_grace'), null);
      assert.ok(await store.refreshTokens.find('rt_past_grace'), 'the rotated row itself stays for reuse detection');
    });

    it('a rotated token is kept for the horizon (7 days by default) and deleted after it', async () => {
      await storeRefreshToken(store, 'rt_rotated_recent', 'grt_live', { rotatedAt: NOW - 6 * DAY });
      await storeRefreshToken(store, 'rt_rotated_old', 'grt_live', { rotatedAt: NOW - 7 * DAY - SECOND });
      await storeRefreshToken(store, 'rt_live', 'grt_live');
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['refresh_tokens/rotated'], 1);
      assert.deepEqual(await keysIn(store, 'refresh_tokens', 'token_hash'), ['rt_live', 'rt_rotated_recent']);
    });

    it('a token never rotated is deleted once its idle lifetime is over; a live one stays', async () => {
      await storeRefreshToken(store, 'rt_expired', 'grt_live', { expiresAt: NOW - SECOND });
      await storeRefreshToken(store, 'rt_live', 'grt_live', { expiresAt: NOW + SECOND });
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['refresh_tokens/expired'], 1);
      assert.deepEqual(await keysIn(store, 'refresh_tokens', 'token_hash'), ['rt_live']);
    });

    it('an authorization code, used or not, is deleted an hour after it expired; until then its reuse can still be detected', async () => {
      await storeCode(store, 'code_used_old', 'grt_live', { expiresAt: NOW - HOUR - SECOND, usedAt: NOW - 2 * HOUR });
      await storeCode(store, 'code_unused_old', 'grt_live', { expiresAt: NOW - HOUR - SECOND });
      await storeCode(store, 'code_used_recent', 'grt_live', { expiresAt: NOW - 30 * 60 * SECOND, usedAt: NOW - 31 * 60 * SECOND });
      await storeCode(store, 'code_pending', 'grt_live', { expiresAt: NOW + 30 * SECOND });
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['authorization_codes/expired'], 2);
      assert.deepEqual(await keysIn(store, 'authorization_codes', 'code_hash'), ['code_pending', 'code_used_recent']);
    });

    it('a grant revoked or expired longer ago than the audit horizon goes, with its codes and tokens; a recently ended one stays', async () => {
      await storeGrantRow(store, 'grt_revoked_old', 'usr_1', { revokedAt: NOW - 8 * DAY });
      await storeGrantRow(store, 'grt_expired_old', 'usr_1', { expiresAt: NOW - 8 * DAY });
      await storeGrantRow(store, 'grt_revoked_recent', 'usr_1', { revokedAt: NOW - DAY });
      await storeRefreshToken(store, 'rt_of_revoked', 'grt_revoked_old');
      await storeCode(store, 'code_of_revoked', 'grt_revoked_old', { expiresAt: NOW + 30 * SECOND });
      await storeRefreshToken(store, 'rt_of_recent', 'grt_revoked_recent');
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['oauth_grants/ended'], 2);
      assert.deepEqual(await keysIn(store, 'oauth_grants', 'id'), ['grt_live', 'grt_revoked_recent']);
      assert.deepEqual(await keysIn(store, 'refresh_tokens', 'token_hash'), ['rt_of_recent']);
      assert.deepEqual(await keysIn(store, 'authorization_codes', 'code_hash'), []);
    });

    it('works in batches: more rows than one batch are all deleted in one sweep, and a second sweep finds nothing', async () => {
      for (let i = 0; i < 7; i++) await storeRefreshToken(store, `rt_old_${i}`, 'grt_live', { rotatedAt: NOW - 8 * DAY });
      const config = retentionConfig({ retention: { batchSize: 3 } });
      assert.equal((await sweepAt(store, NOW, config))['refresh_tokens/rotated'], 7);
      assert.equal((await sweepAt(store, NOW, config))['refresh_tokens/rotated'], 0);
    });

    it('a sweep told to stop ends after the batch in progress and leaves the rest for the next sweep', async () => {
      for (let i = 0; i < 7; i++) await storeRefreshToken(store, `rt_old_${i}`, 'grt_live', { rotatedAt: NOW - 8 * DAY });
      const stopping = new AbortController();
      const config = retentionConfig({ retention: { batchSize: 3 } });
      const sweeper = retentionSweeper({ store, config, clock: () => NOW, onRule: () => stopping.abort() });
      // The first rule (replay copies) finds nothing; the abort after it stops the sweep before the rotated tokens.
      assert.deepEqual(await sweeper.sweep(NOW, stopping.signal), [{ table: 'refresh_tokens', rule: 'replay_copy', rows: 0 }]);
      assert.equal((await keysIn(store, 'refresh_tokens', 'token_hash')).length, 7);
      assert.equal((await sweepAt(store, NOW, config))['refresh_tokens/rotated'], 7);
    });

    it('a metadata-document client unused past its retention (30 days by default) goes unless a live grant holds it; registered clients stay', async () => {
      const old = NOW - 31 * DAY;
      await store.clients.upsert(publicClientRecord('https://unused.example/c', 'metadata_document', old));
      await store.clients.upsert(publicClientRecord('https://recent.example/c', 'metadata_document', NOW - 29 * DAY));
      await store.clients.upsert(publicClientRecord('https://granted.example/c', 'metadata_document', old));
      await store.clients.upsert(publicClientRecord('https://revoked.example/c', 'metadata_document', old));
      await store.clients.create(publicClientRecord('cli_registered', 'dynamic', old));
      await storeGrantRow(store, 'grt_doc_live', 'usr_1', { clientId: 'https://granted.example/c', expiresAt: NOW + DAY });
      await storeGrantRow(store, 'grt_doc_revoked', 'usr_1', { clientId: 'https://revoked.example/c', expiresAt: NOW + DAY, revokedAt: NOW - DAY });
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['oauth_clients/unused_metadata_document'], 2);
      assert.deepEqual(await keysIn(store, 'oauth_clients', 'client_id'), ['cli_registered', 'https://granted.example/c', 'https://recent.example/c']);
    });
  });
}
