import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accessTokenService } from '../../src/oauth/access-tokens.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { mintTokens, postForm } from './revocation-fixtures.js';
import { adminUserId, createClient, type TestClient } from './token-fixtures.js';

for (const backend of backends) {
  describe(`POST /oauth/introspect on ${backend}`, () => {
    let t: TestApp;
    let confidential: TestClient;
    let otherConfidential: TestClient;
    let publicClient: TestClient;
    let clientAuth: Record<string, string>;
    const introspect = (token: string, headers = clientAuth, fields: Record<string, string> = {}) =>
      postForm(t, '/oauth/introspect', { token, ...fields }, headers);

    before(async () => {
      t = await startTestApp({ backend });
      confidential = await createClient(t, { authMethod: 'client_secret_basic', secret: 'gth_cs_introspector' });
      otherConfidential = await createClient(t, { authMethod: 'client_secret_post', secret: 'gth_cs_other' });
      publicClient = await createClient(t);
      clientAuth = { authorization: basicAuth(confidential.clientId, confidential.secret!) };
    });
    after(() => t.close());

    it('describes an active access token of the calling client, never cached', async () => {
      const minted = await mintTokens(t, confidential, { scope: 'mcp:read' });
      const res = await introspect(minted.accessToken);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.equal(typeof body.exp, 'number');
      assert.equal(typeof body.iat, 'number');
      assert.deepEqual(
        { ...body, exp: undefined, iat: undefined },
        {
          active: true,
          scope: 'mcp:read',
          client_id: confidential.clientId,
          sub: await adminUserId(t),
          aud: gatewayResource(t.config.publicUrl),
          iss: t.config.publicUrl,
          exp: undefined,
          iat: undefined,
          token_type: 'access_token',
          username: 'admin',
        },
      );
      assert.equal(body.exp - body.iat, t.config.oauth.accessTokenTtlSeconds);
    });

    it('describes an access token for a virtual server (/mcp/{name}) with that audience; once the server is deleted, inactive', async () => {
      const now = Date.now();
      await t.runtime.store.virtualServers.create({ name: 'support', description: null, tools: [], allowedUsers: null, allowedGroups: null, createdAt: now, updatedAt: now });
      const resource = `${gatewayResource(t.config.publicUrl)}/support`;
      const minted = await mintTokens(t, confidential, { resource });
      const body = (await introspect(minted.accessToken)).json();
      assert.equal(body.active, true);
      assert.equal(body.aud, resource);
      await t.runtime.store.virtualServers.delete('support');
      assert.deepEqual((await introspect(minted.accessToken)).json(), { active: false });
    });

    it('describes an active refresh token as refresh_token, and a rotated one as inactive', async () => {
      const minted = await mintTokens(t, confidential);
      const res = await introspect(minted.refreshToken);
      assert.equal(res.json().active, true);
      assert.equal(res.json().token_type, 'refresh_token');
      assert.equal(res.json().client_id, confidential.clientId);
      await t.runtime.store.refreshTokens.rotate({
        tokenHash: t.runtime.keys.tokenHasher.hash(minted.refreshToken),
        now: Date.now(),
        replayResponse: null,
        successor: null,
        grant: (await t.runtime.store.grants.find(minted.grantId))!,
      });
      assert.deepEqual((await introspect(minted.refreshToken)).json(), { active: false });
    });

    it('a token whose grant was revoked is inactive at once, before it expires (revoked grant)', async () => {
      const minted = await mintTokens(t, confidential);
      assert.equal((await introspect(minted.accessToken)).json().active, true);
      await t.runtime.grants.revoke(minted.grantId, 'test', { userId: null });
      assert.deepEqual((await introspect(minted.accessToken)).json(), { active: false });
      assert.deepEqual((await introspect(minted.refreshToken)).json(), { active: false });
    });

    it('expired, unknown and malformed tokens are inactive', async () => {
      const client = { clientId: confidential.clientId };
      const past = accessTokenService({ config: t.config, signingKeys: t.runtime.signingKeys }, () => Date.now() - 3_600_000);
      const minted = await mintTokens(t, client);
      const expired = await past.issue({ grantId: minted.grantId, userId: await adminUserId(t), clientId: client.clientId, scope: 'mcp:read', resource: gatewayResource(t.config.publicUrl) });
      for (const token of [expired.token, 'gth_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'garbage']) {
        const res = await introspect(token);
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), { active: false });
      }
    });

    it("a confidential client sees another client's tokens as inactive", async () => {
      const theirs = await mintTokens(t, otherConfidential);
      assert.deepEqual((await introspect(theirs.accessToken)).json(), { active: false });
      assert.deepEqual((await introspect(theirs.refreshToken)).json(), { active: false });
      const own = await postForm(t, '/oauth/introspect', { token: theirs.accessToken, client_id: otherConfidential.clientId, client_secret: otherConfidential.secret! });
      assert.equal(own.json().active, true, 'the owner, authenticating in the body, sees it');
    });

    it('a public client, an anonymous caller and a wrong secret are refused with invalid_client', async () => {
      const minted = await mintTokens(t, publicClient);
      const asPublic = await postForm(t, '/oauth/introspect', { token: minted.accessToken, client_id: publicClient.clientId });
      assert.equal(asPublic.statusCode, 401);
      assert.equal(asPublic.json().error, 'invalid_client');
      const anonymous = await postForm(t, '/oauth/introspect', { token: minted.accessToken });
      assert.equal(anonymous.statusCode, 401);
      const wrong = await introspect(minted.accessToken, { authorization: basicAuth(confidential.clientId, 'gth_cs_wrong') });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error, 'invalid_client');
    });

    it("an admin's API key introspects any client's token; a non-admin's key or a bogus one is refused", async () => {
      const minted = await mintTokens(t, publicClient);
      const admin = await t.runtime.users.find('admin');
      const adminKey = await t.runtime.apiKeys.create({ user: admin!, name: 'introspection' });
      const res = await introspect(minted.accessToken, { authorization: `Bearer ${adminKey.token}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().active, true);
      assert.equal(res.json().client_id, publicClient.clientId);

      const user = await t.runtime.users.create({ username: 'plain', password: 'plain-user-password' });
      const userKey = await t.runtime.apiKeys.create({ user, name: 'not admin' });
      for (const key of [userKey.token, 'gth_ak_bogus']) {
        const refused = await introspect(minted.accessToken, { authorization: `Bearer ${key}` });
        assert.equal(refused.statusCode, 401);
        assert.equal(refused.json().error, 'invalid_client');
        assert.equal(refused.json().active, undefined);
      }
    });

    it('a token of a disabled user is inactive', async () => {
      const user = await t.runtime.users.create({ username: 'leaver', password: 'leaver-password-1' });
      const minted = await mintTokens(t, confidential, { userId: user.id });
      assert.equal((await introspect(minted.accessToken)).json().username, 'leaver');
      await t.runtime.users.disable('leaver');
      assert.deepEqual((await introspect(minted.accessToken)).json(), { active: false });
    });
  });
}
