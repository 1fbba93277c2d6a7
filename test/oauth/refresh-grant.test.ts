import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seal } from '../../src/crypto/aead.js';
import { issueTimeOf, issueToken } from '../../src/crypto/random.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import { refreshTokenKey } from '../../src/oauth/token-response.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { testClock } from '../helpers/clock.js';
import { assertOAuthError, createClient, grantWithTokens, refresh, shiftPast, type TokenPair } from './token-fixtures.js';

for (const backend of backends) {
  describe(`refresh_token grant on ${backend}`, () => {
    let t: TestApp;
    let resource: string;
    const clock = testClock();
    before(async () => {
      t = await startTestApp({ backend, clock });
      resource = gatewayResource(t.config.publicUrl);
    });
    after(() => t.close());

    const hashOf = (token: string) => refreshTokenKey(t.runtime.keys.tokenHasher, token);
    const grantOf = (grantId: string) => t.runtime.store.grants.find(grantId);

    it('a refresh rotates: a new access token for /mcp and a new refresh token, which works in turn', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const res = await refresh(t, client.clientId, tokens.refresh_token, { resource });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const next = res.json() as TokenPair;
      assert.notEqual(next.refresh_token, tokens.refresh_token);
      assert.notEqual(next.access_token, tokens.access_token);
      assert.equal(next.scope, 'mcp:read mcp:write');
      const sent = res.json() as Record<string, unknown>;
      const members = { access_token: sent.access_token, token_type: 'Bearer', expires_in: sent.expires_in, scope: sent.scope, refresh_token: sent.refresh_token };
      assert.equal(res.body, JSON.stringify(members), 'RFC 6749 §5.1 JSON, its members in this order and nothing else');
      const claims = await t.runtime.accessTokens.verify(next.access_token, resource);
      assert.equal(claims?.gid, grantId);
      assert.ok((await t.runtime.store.refreshTokens.find(hashOf(tokens.refresh_token)))?.rotatedAt, 'the old token is marked rotated');
      assert.equal((await refresh(t, client.clientId, next.refresh_token)).statusCode, 200);
    });

    it('the old token within the grace window gets the same response again, byte for byte, and revokes nothing', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const first = await refresh(t, client.clientId, tokens.refresh_token);
      assert.equal(first.statusCode, 200, first.body);
      const again = await refresh(t, client.clientId, tokens.refresh_token);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.body, first.body);
      assert.equal((await grantOf(grantId))?.revokedAt, null);
      assert.equal((await refresh(t, client.clientId, first.json().refresh_token)).statusCode, 200, 'the replayed successor is live');
    });

    it('the rotated row keeps no secret of the answer it replays: neither token, nor the access token\'s jti', async () => {
      const { client, tokens } = await grantWithTokens(t);
      const first = await refresh(t, client.clientId, tokens.refresh_token);
      const answer = first.json() as TokenPair;
      const jti = (await t.runtime.accessTokens.verify(answer.access_token, resource))?.jti;
      assert.ok(jti);
      const copy = (await t.runtime.store.refreshTokens.find(hashOf(tokens.refresh_token)))?.replayResponse;
      assert.ok(copy);
      for (const secret of [answer.refresh_token, answer.access_token.split('.')[1]!, jti]) {
        assert.ok(!copy.includes(secret), `the copy holds ${secret}`);
      }
      assert.equal((await refresh(t, client.clientId, tokens.refresh_token)).body, first.body);
    });

    it('a narrowed refresh replays narrowed, byte for byte, after the signing key has rotated', async () => {
      const { client, tokens } = await grantWithTokens(t, { scope: 'mcp:read mcp:write' });
      const first = await refresh(t, client.clientId, tokens.refresh_token, { scope: 'mcp:read' });
      assert.equal(first.json().scope, 'mcp:read');
      await t.runtime.signingKeys.rotate();
      await t.runtime.signingKeys.rotate();
      const again = await refresh(t, client.clientId, tokens.refresh_token, { scope: 'mcp:read' });
      assert.equal(again.body, first.body);
      assert.equal((await t.runtime.accessTokens.verify(again.json().access_token, resource))?.scope, 'mcp:read');
    });

    it('a replay copy sealed whole (as versions before 2026-12 stored it) still replays inside the grace window', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const now = clock();
      const successor = issueToken('refreshToken', now);
      const answer = JSON.stringify({ access_token: tokens.access_token, token_type: 'Bearer', expires_in: 600, scope: 'mcp:read mcp:write', refresh_token: successor });
      await t.runtime.store.refreshTokens.create({ tokenHash: hashOf(successor), grantId, scope: 'mcp:read mcp:write', createdAt: now, expiresAt: now + 60_000, rotatedAt: null, replayResponse: null });
      const hash = hashOf(tokens.refresh_token);
      const sealed = seal(t.runtime.keys.encryptionKey, answer, `refresh-replay:${hash}`);
      await t.runtime.store.database.run('UPDATE refresh_tokens SET rotated_at = ?, replay_response = ? WHERE token_hash = ?', [now, sealed, hash]);
      const again = await refresh(t, client.clientId, tokens.refresh_token);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.body, answer);
      assert.equal((await grantOf(grantId))?.revokedAt, null);
    });

    it('the old token after the grace window is reuse: that grant is revoked, an unrelated grant of the same user keeps working', async () => {
      const victim = await grantWithTokens(t);
      const bystander = await grantWithTokens(t);
      const successor = (await refresh(t, victim.client.clientId, victim.tokens.refresh_token)).json() as TokenPair;
      clock.advance((t.config.oauth.refreshGraceSeconds + 1) * 1000);

      assertOAuthError(await refresh(t, victim.client.clientId, victim.tokens.refresh_token), 'invalid_grant');
      const revoked = await grantOf(victim.grantId);
      assert.ok(revoked?.revokedAt);
      assert.equal(revoked.revokedReason, 'refresh token reused');
      assertOAuthError(await refresh(t, victim.client.clientId, successor.refresh_token), 'invalid_grant');
      const audit = await t.runtime.store.audit.list({ kind: 'refresh.reused', limit: 10 });
      assert.ok(audit.some((event) => event.grantId === victim.grantId && event.clientId === victim.client.clientId));

      assert.equal((await grantOf(bystander.grantId))?.revokedAt, null);
      assert.equal((await refresh(t, bystander.client.clientId, bystander.tokens.refresh_token)).statusCode, 200);
    });

    it('scope may narrow for one access token while the chain keeps its scope; widening gets invalid_scope', async () => {
      const { client, tokens } = await grantWithTokens(t, { scope: 'mcp:read mcp:write' });
      const narrowed = await refresh(t, client.clientId, tokens.refresh_token, { scope: 'mcp:read offline_access' });
      assert.equal(narrowed.statusCode, 200, narrowed.body);
      assert.equal(narrowed.json().scope, 'mcp:read');
      assert.equal((await t.runtime.accessTokens.verify(narrowed.json().access_token, resource))?.scope, 'mcp:read');
      const full = await refresh(t, client.clientId, narrowed.json().refresh_token);
      assert.equal(full.json().scope, 'mcp:read mcp:write');

      const readOnly = await grantWithTokens(t, { scope: 'mcp:read' });
      assertOAuthError(await refresh(t, readOnly.client.clientId, readOnly.tokens.refresh_token, { scope: 'mcp:read mcp:write' }), 'invalid_scope');
      assert.equal((await refresh(t, readOnly.client.clientId, readOnly.tokens.refresh_token)).statusCode, 200, 'a refused request rotates nothing');
    });

    it('a resource other than the grant resource gets invalid_target', async () => {
      const { client, tokens } = await grantWithTokens(t);
      assertOAuthError(await refresh(t, client.clientId, tokens.refresh_token, { resource: 'https://elsewhere.example/mcp' }), 'invalid_target');
    });

    it('the successor never outlives the grant, and past the grant absolute lifetime the chain ends', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const endsAt = clock() + 60_000;
      await shiftPast(t, 'UPDATE oauth_grants SET expires_at = ? WHERE id = ?', [endsAt, grantId]);
      const next = (await refresh(t, client.clientId, tokens.refresh_token)).json() as TokenPair;
      assert.equal((await t.runtime.store.refreshTokens.find(hashOf(next.refresh_token)))?.expiresAt, endsAt);

      clock.advance(60_000);
      assertOAuthError(await refresh(t, client.clientId, next.refresh_token), 'invalid_grant');
    });

    it('an idle-expired refresh token gets invalid_grant', async () => {
      const { client, tokens } = await grantWithTokens(t);
      clock.advance((t.config.oauth.refreshTokenIdleSeconds + 1) * 1000);
      assertOAuthError(await refresh(t, client.clientId, tokens.refresh_token), 'invalid_grant');
    });

    it('a refresh token of a revoked grant gets invalid_grant', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      await t.runtime.grants.revoke(grantId, 'user revoked', {});
      assertOAuthError(await refresh(t, client.clientId, tokens.refresh_token), 'invalid_grant');
    });

    it('a successor whose grant is revoked right after it was issued gets invalid_grant and stays unrotated', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const successor = (await refresh(t, client.clientId, tokens.refresh_token)).json() as TokenPair;
      await t.runtime.grants.revoke(grantId, 'user revoked', {});
      assertOAuthError(await refresh(t, client.clientId, successor.refresh_token), 'invalid_grant');
      assert.equal((await t.runtime.store.refreshTokens.find(hashOf(successor.refresh_token)))?.rotatedAt, null);
    });

    it("a disabled user's refresh token (a stored successor too) gets invalid_grant and stays unrotated; enabled again, it rotates", async () => {
      const user = await t.runtime.users.create({ username: 'leaver', password: 'leaver-password-1' });
      const { client, tokens } = await grantWithTokens(t, { userId: user.id });
      const successor = (await refresh(t, client.clientId, tokens.refresh_token)).json() as TokenPair;
      await t.runtime.users.disable('leaver');
      assertOAuthError(await refresh(t, client.clientId, successor.refresh_token), 'invalid_grant');
      assert.equal((await t.runtime.store.refreshTokens.find(hashOf(successor.refresh_token)))?.rotatedAt, null);
      await t.runtime.users.enable('leaver');
      assert.equal((await refresh(t, client.clientId, successor.refresh_token)).statusCode, 200);
    });

    it('a successor another replica rotated, presented again past the grace window, is reuse: the grant is revoked', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const successor = (await refresh(t, client.clientId, tokens.refresh_token)).json() as TokenPair;
      const rotatedAt = clock() - (t.config.oauth.refreshGraceSeconds + 1) * 1000;
      await t.runtime.store.database.run('UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ?', [rotatedAt, hashOf(successor.refresh_token)]);
      assertOAuthError(await refresh(t, client.clientId, successor.refresh_token), 'invalid_grant');
      assert.equal((await grantOf(grantId))?.revokedReason, 'refresh token reused');
    });

    it('a refresh token presented by another client gets invalid_grant and leaves the grant alone', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const other = await createClient(t);
      assertOAuthError(await refresh(t, other.clientId, tokens.refresh_token), 'invalid_grant');
      assert.equal((await grantOf(grantId))?.revokedAt, null);
      assert.equal((await refresh(t, client.clientId, tokens.refresh_token)).statusCode, 200);
    });

    it('each refresh token is stored under its issue time and keyed hash, so the keys of a chain sort in the order issued', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t);
      const issued = [tokens.refresh_token];
      for (let step = 0; step < 3; step += 1) {
        clock.advance(1000);
        const res = await refresh(t, client.clientId, issued.at(-1)!);
        assert.equal(res.statusCode, 200, res.body);
        issued.push((res.json() as TokenPair).refresh_token);
      }
      const keys = issued.map(hashOf);
      assert.ok(keys.every((key, index) => key === `${issueTimeOf(issued[index]!, 'refreshToken')}.${t.runtime.keys.tokenHasher.hash(issued[index]!)}`));
      const rows = await t.runtime.store.database.all<{ token_hash: string }>('SELECT token_hash FROM refresh_tokens WHERE grant_id = ? ORDER BY token_hash', [grantId]);
      assert.deepEqual(rows.map((row) => row.token_hash), keys);
    });

    it('a refresh token issued without its time (stored under its plain keyed hash) still rotates, and its successor carries the time', async () => {
      const { client, grantId } = await grantWithTokens(t);
      const legacy = issueToken('refreshToken');
      const now = clock();
      const legacyHash = t.runtime.keys.tokenHasher.hash(legacy);
      await t.runtime.store.refreshTokens.create({ tokenHash: legacyHash, grantId, scope: 'mcp:read mcp:write', createdAt: now, expiresAt: now + 60_000, rotatedAt: null, replayResponse: null });
      const res = await refresh(t, client.clientId, legacy);
      assert.equal(res.statusCode, 200, res.body);
      const successor = (res.json() as TokenPair).refresh_token;
      assert.ok(issueTimeOf(successor, 'refreshToken'));
      assert.ok((await t.runtime.store.refreshTokens.find(legacyHash))?.rotatedAt, 'the old row is marked rotated');
      assert.equal((await refresh(t, client.clientId, legacy)).body, res.body, 'and replays within the grace window');
      assert.equal((await refresh(t, client.clientId, successor)).statusCode, 200);
    });

    it('an unknown refresh token gets invalid_grant', async () => {
      const client = await createClient(t);
      assertOAuthError(await refresh(t, client.clientId, `gth_rt_${'A'.repeat(43)}`), 'invalid_grant');
    });
  });
}
