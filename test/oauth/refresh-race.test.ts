import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { refreshTokenKey } from '../../src/oauth/token-response.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { grantWithTokens, refresh, type TokenPair } from './token-fixtures.js';

const CONCURRENT_REFRESHES = 50;

for (const backend of backends) {
  describe(`concurrent refreshes with one refresh token on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    it('50 at once leave exactly one live successor; every answer is that pair or invalid_grant; nothing is revoked', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const responses = await Promise.all(
        Array.from({ length: CONCURRENT_REFRESHES }, () => refresh(t, client.clientId, tokens.refresh_token)),
      );

      const succeeded = responses.filter((res) => res.statusCode === 200);
      const refused = responses.filter((res) => res.statusCode !== 200);
      assert.ok(succeeded.length >= 1, 'one request wins the compare-and-set');
      for (const res of refused) {
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error, 'invalid_grant');
      }
      const bodies = new Set(succeeded.map((res) => res.body));
      assert.equal(bodies.size, 1, 'every success is the same pair (the winner, or its grace replay)');
      const successor = succeeded[0]!.json() as TokenPair;

      const rows = await t.runtime.store.database.all<{ token_hash: string; rotated_at: number | null }>(
        'SELECT token_hash, rotated_at FROM refresh_tokens WHERE grant_id = ?',
        [grantId],
      );
      assert.equal(rows.length, 2, 'the original and one successor: no loser stored a token');
      const live = rows.filter((row) => row.rotated_at === null);
      assert.equal(live.length, 1);
      assert.equal(live[0]!.token_hash, refreshTokenKey(t.runtime.keys.tokenHasher, successor.refresh_token));
      assert.equal((await t.runtime.store.grants.find(grantId))?.revokedAt, null, 'all inside the grace window: no reuse');

      const next = await refresh(t, client.clientId, successor.refresh_token);
      assert.equal(next.statusCode, 200, next.body);
    });
  });
}
