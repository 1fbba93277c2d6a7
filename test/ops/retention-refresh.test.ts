import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { refreshTokenKey } from '../../src/oauth/token-response.js';
import { retentionSweeper } from '../../src/ops/retention.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { testClock } from '../helpers/clock.js';
import { assertOAuthError, grantWithTokens, refresh, type TokenPair } from '../oauth/token-fixtures.js';

/** The sweep against the refresh grant itself: what retention keeps is what rotation's safety nets need. */
for (const backend of backends) {
  describe(`retention and the refresh grant on ${backend}`, () => {
    let t: TestApp;
    const clock = testClock();
    before(async () => {
      t = await startTestApp({ backend, clock });
    });
    after(() => t.close());

    const hashOf = (token: string) => refreshTokenKey(t.runtime.keys.tokenHasher, token);
    const sweep = (now: number) => retentionSweeper({ store: t.runtime.store, config: t.config, clock: () => now }).sweep(now);
    const graceMs = () => t.config.oauth.refreshGraceSeconds * 1000;
    const horizonMs = () => t.config.retention.rotatedRefreshTokenSeconds * 1000;

    it('a sweep inside the grace window keeps the replay copy: the retry still gets the same response', async () => {
      const { client, tokens } = await grantWithTokens(t);
      const first = await refresh(t, client.clientId, tokens.refresh_token);
      assert.equal(first.statusCode, 200, first.body);
      await sweep(clock());
      const again = await refresh(t, client.clientId, tokens.refresh_token);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.body, first.body);
    });

    it('after the grace window the copy is gone but the rotated row is not: a replay inside the horizon still revokes the grant', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const successor = (await refresh(t, client.clientId, tokens.refresh_token)).json() as TokenPair;
      clock.advance(graceMs() + 1000);
      await sweep(clock());
      const rotated = await t.runtime.store.refreshTokens.find(hashOf(tokens.refresh_token));
      assert.ok(rotated, 'the rotated row is kept');
      assert.equal(rotated.replayResponse, null, 'its replay copy is dropped');

      assertOAuthError(await refresh(t, client.clientId, tokens.refresh_token), 'invalid_grant');
      assert.equal((await t.runtime.store.grants.find(grantId))?.revokedReason, 'refresh token reused');
      assertOAuthError(await refresh(t, client.clientId, successor.refresh_token), 'invalid_grant');
    });

    it('past the horizon the rotated row is deleted: a replay is an unknown token, and the live chain goes on', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const successor = (await refresh(t, client.clientId, tokens.refresh_token)).json() as TokenPair;
      const rotatedAt = (await t.runtime.store.refreshTokens.find(hashOf(tokens.refresh_token)))!.rotatedAt!;
      await sweep(rotatedAt + horizonMs() + 1000);
      assert.equal(await t.runtime.store.refreshTokens.find(hashOf(tokens.refresh_token)), undefined);
      assertOAuthError(await refresh(t, client.clientId, tokens.refresh_token), 'invalid_grant');
      assert.equal((await t.runtime.store.grants.find(grantId))?.revokedAt, null);
      assert.equal((await refresh(t, client.clientId, successor.refresh_token)).statusCode, 200);
    });
  });
}
