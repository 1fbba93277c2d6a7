import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gatewayResource } from '../../src/oauth/resource.js';
import { refreshTokenKey } from '../../src/oauth/token-response.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { testClock } from '../helpers/clock.js';
import { adminUserId, assertOAuthError, createClient, exchangeCode, issueCode, postToken, REDIRECT_URI, refresh, type IssuedCode } from './token-fixtures.js';

for (const backend of backends) {
  describe(`authorization_code grant on ${backend}`, () => {
    let t: TestApp;
    let resource: string;
    const clock = testClock();
    before(async () => {
      t = await startTestApp({ backend, clock });
      resource = gatewayResource(t.config.publicUrl);
    });
    after(() => t.close());

    it('a code exchanges once for a Bearer access token bound to /mcp and a refresh token, never cached', async () => {
      const client = await createClient(t);
      const res = await exchangeCode(t, await issueCode(t, client), { resource });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.pragma, 'no-cache');
      assert.match(res.headers['content-type'] as string, /^application\/json/);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, t.config.oauth.accessTokenTtlSeconds);
      assert.equal(body.scope, 'mcp:read mcp:write');
      assert.match(body.refresh_token, /^gth_rt_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/, 'its issue time, then 256 random bits');
      const claims = await t.runtime.accessTokens.verify(body.access_token, resource);
      assert.ok(claims, 'the access token verifies for the /mcp audience');
      assert.equal(claims.sub, await adminUserId(t));
      assert.equal(claims.client_id, client.clientId);
      assert.equal(claims.scope, 'mcp:read mcp:write');
      assert.equal(await t.runtime.accessTokens.verify(body.access_token, `${t.config.publicUrl}/other`), undefined, 'and for no other audience');
      const grant = await t.runtime.store.grants.find(claims.gid);
      assert.ok(grant?.lastUsedAt, 'the grant records its use');
    });

    it('only the refresh token hash is stored, capped at the grant absolute lifetime', async () => {
      const client = await createClient(t);
      const body = (await exchangeCode(t, await issueCode(t, client))).json();
      const hash = refreshTokenKey(t.runtime.keys.tokenHasher, body.refresh_token);
      const row = await t.runtime.store.refreshTokens.find(hash);
      assert.ok(row);
      const grant = await t.runtime.store.grants.find(row.grantId);
      assert.ok(grant);
      assert.ok(row.expiresAt <= grant.expiresAt);
      assert.ok(row.expiresAt <= row.createdAt + t.config.oauth.refreshTokenIdleSeconds * 1000);
      const dump = JSON.stringify(await t.runtime.store.database.all('SELECT * FROM refresh_tokens'));
      assert.equal(dump.includes(body.refresh_token), false, 'the token itself is nowhere in the table');
    });

    it('a client not registered for refresh_token gets no refresh token', async () => {
      const client = await createClient(t, { grantTypes: ['authorization_code'] });
      const res = await exchangeCode(t, await issueCode(t, client));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().refresh_token, undefined);
    });

    it('a wrong PKCE verifier gets invalid_grant', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      assertOAuthError(await exchangeCode(t, { ...issued, verifier: 'x'.repeat(43) }), 'invalid_grant');
    });

    it('a reused code gets invalid_grant and revokes the grant, so the first exchange refresh token stops working', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      const first = await exchangeCode(t, issued);
      assert.equal(first.statusCode, 200, first.body);
      const { access_token, refresh_token } = first.json();
      const claims = await t.runtime.accessTokens.verify(access_token, resource);
      assert.ok(claims);

      assertOAuthError(await exchangeCode(t, issued), 'invalid_grant');
      const grant = await t.runtime.store.grants.find(claims.gid);
      assert.ok(grant?.revokedAt, 'the grant is revoked');
      assert.equal(grant.revokedReason, 'authorization code reused');
      assertOAuthError(await refresh(t, client.clientId, refresh_token), 'invalid_grant');
      const audit = await t.runtime.store.audit.list({ kind: 'code.reused', limit: 10 });
      assert.ok(audit.some((event) => event.grantId === claims.gid));
    });

    it('an expired code gets invalid_grant', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      clock.advance((t.config.oauth.authorizationCodeTtlSeconds + 1) * 1000);
      assertOAuthError(await exchangeCode(t, issued), 'invalid_grant');
    });

    it('a code issued to another client gets invalid_grant', async () => {
      const owner = await createClient(t);
      const other = await createClient(t);
      const issued = await issueCode(t, owner);
      assertOAuthError(await exchangeCode(t, { ...issued, clientId: other.clientId }), 'invalid_grant');
    });

    it('a redirect_uri different from the authorization request gets invalid_grant', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      assertOAuthError(await exchangeCode(t, issued, { redirect_uri: 'http://127.0.0.1:9876/callback/' }), 'invalid_grant');
    });

    it('redirect_uri may be omitted only when the client registered a single one', async () => {
      const client = await createClient(t);
      const withoutRedirect = (issued: IssuedCode) =>
        postToken(t, { grant_type: 'authorization_code', code: issued.code, code_verifier: issued.verifier, client_id: issued.clientId });
      const single = await withoutRedirect(await issueCode(t, client));
      assert.equal(single.statusCode, 200, single.body);
      const row = (await t.runtime.store.clients.find(client.clientId))!;
      const metadata = { ...JSON.parse(row.metadata), redirect_uris: [REDIRECT_URI, 'http://127.0.0.1:9876/other'] };
      await t.runtime.store.clients.update(client.clientId, { metadata: JSON.stringify(metadata), authMethod: row.authMethod, updatedAt: Date.now() });
      assertOAuthError(await withoutRedirect(await issueCode(t, client)), 'invalid_request');
    });

    it('a resource other than the code resource gets invalid_target; the canonical one with a trailing slash is accepted', async () => {
      const client = await createClient(t);
      assertOAuthError(await exchangeCode(t, await issueCode(t, client), { resource: 'https://elsewhere.example/mcp' }), 'invalid_target');
      const res = await exchangeCode(t, await issueCode(t, client), { resource: `${resource}/` });
      assert.equal(res.statusCode, 200, res.body);
    });

    it('a code of a revoked grant gets invalid_grant', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      const hash = t.runtime.keys.tokenHasher.hash(issued.code);
      const row = await t.runtime.store.database.get<{ grant_id: string }>('SELECT grant_id FROM authorization_codes WHERE code_hash = ?', [hash]);
      assert.ok(row);
      await t.runtime.grants.revoke(row.grant_id, 'test', {});
      assertOAuthError(await exchangeCode(t, issued), 'invalid_grant');
    });

    it('a code of a user disabled after consenting gets invalid_grant', async () => {
      const user = await t.runtime.users.create({ username: 'leaver', password: 'leaver-password-1' });
      const issued = await issueCode(t, await createClient(t), { userId: user.id });
      await t.runtime.users.disable('leaver');
      assertOAuthError(await exchangeCode(t, issued), 'invalid_grant');
    });

    it('an unknown code gets invalid_grant', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      assertOAuthError(await exchangeCode(t, { ...issued, code: `gth_ac_${'A'.repeat(43)}` }), 'invalid_grant');
    });
  });
}
