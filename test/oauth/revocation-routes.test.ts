import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { gatewayResource } from '../../src/oauth/resource.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { mintTokens, postForm } from './revocation-fixtures.js';
import { createClient, type TestClient } from './token-fixtures.js';

for (const backend of backends) {
  describe(`POST /oauth/revoke on ${backend}`, () => {
    let t: TestApp;
    let publicClient: TestClient;
    let confidential: TestClient;
    const revoke = (fields: Record<string, string>, headers?: Record<string, string>) => postForm(t, '/oauth/revoke', fields, headers);
    const revokedAt = async (grantId: string) => (await t.runtime.store.grants.find(grantId))?.revokedAt ?? null;

    before(async () => {
      t = await startTestApp({ backend });
      publicClient = await createClient(t);
      confidential = await createClient(t, { authMethod: 'client_secret_basic', secret: 'gth_cs_confidential-secret' });
    });
    after(() => t.close());

    it('a refresh token revokes its whole grant, and the revocation is audited', async () => {
      const minted = await mintTokens(t, publicClient);
      const res = await revoke({ token: minted.refreshToken, client_id: publicClient.clientId });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.notEqual(await revokedAt(minted.grantId), null);
      const events = await t.runtime.store.audit.list({ kind: 'grant.revoked', clientId: publicClient.clientId, limit: 10 });
      assert.ok(events.some((event) => event.grantId === minted.grantId));
      assert.ok(events.every((event) => !event.detail.includes(minted.refreshToken)));
    });

    it('an access token revokes its whole grant', async () => {
      const minted = await mintTokens(t, publicClient);
      const res = await revoke({ token: minted.accessToken, client_id: publicClient.clientId, token_type_hint: 'access_token' });
      assert.equal(res.statusCode, 200, res.body);
      assert.notEqual(await revokedAt(minted.grantId), null);
    });

    it('a confidential client revokes with Basic credentials; a wrong secret is invalid_client and revokes nothing', async () => {
      const minted = await mintTokens(t, confidential);
      const wrong = await revoke({ token: minted.refreshToken }, { authorization: basicAuth(confidential.clientId, 'gth_cs_wrong') });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error, 'invalid_client');
      assert.equal(await revokedAt(minted.grantId), null);
      const res = await revoke({ token: minted.refreshToken }, { authorization: basicAuth(confidential.clientId, confidential.secret!) });
      assert.equal(res.statusCode, 200, res.body);
      assert.notEqual(await revokedAt(minted.grantId), null);
    });

    it("another client's refresh or access token answers 200 and revokes nothing", async () => {
      const victim = await mintTokens(t, confidential);
      for (const token of [victim.refreshToken, victim.accessToken]) {
        const res = await revoke({ token, client_id: publicClient.clientId });
        assert.equal(res.statusCode, 200, res.body);
      }
      assert.equal(await revokedAt(victim.grantId), null);
    });

    it('unknown and already revoked tokens answer 200; an unknown hint is ignored', async () => {
      assert.equal((await revoke({ token: 'gth_rt_unknown', client_id: publicClient.clientId })).statusCode, 200);
      assert.equal((await revoke({ token: 'not.a.jwt', client_id: publicClient.clientId })).statusCode, 200);
      const minted = await mintTokens(t, publicClient);
      const first = await revoke({ token: minted.refreshToken, client_id: publicClient.clientId, token_type_hint: 'something_else' });
      assert.equal(first.statusCode, 200);
      assert.notEqual(await revokedAt(minted.grantId), null);
      assert.equal((await revoke({ token: minted.refreshToken, client_id: publicClient.clientId })).statusCode, 200);
    });

    it('refuses a request without client authentication, a repeated token, a missing token or a JSON body', async () => {
      const minted = await mintTokens(t, publicClient);
      const anonymous = await revoke({ token: minted.refreshToken });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.json().error, 'invalid_client');
      const duplicated = await t.app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `client_id=${publicClient.clientId}&token=${minted.refreshToken}&token=${minted.accessToken}`,
      });
      assert.equal(duplicated.statusCode, 400);
      assert.equal(duplicated.json().error, 'invalid_request');
      const missing = await revoke({ client_id: publicClient.clientId });
      assert.equal(missing.json().error, 'invalid_request');
      const json = await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token: minted.refreshToken, client_id: publicClient.clientId } });
      assert.equal(json.statusCode, 400);
      assert.equal(json.json().error, 'invalid_request');
      assert.equal(await revokedAt(minted.grantId), null);
    });

    it('answers cross-origin calls and their preflight', async () => {
      const preflight = await t.app.inject({ method: 'OPTIONS', url: '/oauth/revoke', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
      assert.equal(preflight.statusCode, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], '*');
      const res = await revoke({ token: 'gth_rt_unknown', client_id: publicClient.clientId }, { origin: 'https://app.example' });
      assert.equal(res.headers['access-control-allow-origin'], '*');
    });
  });

  describe(`GET /oauth/jwks on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    it('publishes the public keys, cacheable and cross-origin, that verify issued tokens', async () => {
      const client = await createClient(t);
      const { accessToken } = await mintTokens(t, client);
      const res = await t.app.inject({ method: 'GET', url: '/oauth/jwks' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const jwks = res.json();
      assert.deepEqual(jwks.keys.map((key: { kid: string }) => key.kid), [decodeProtectedHeader(accessToken).kid]);
      for (const key of jwks.keys) assert.equal(key.d, undefined, 'no private member is published');
      const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks), {
        issuer: t.config.publicUrl,
        audience: gatewayResource(t.config.publicUrl),
        typ: 'at+jwt',
      });
      assert.equal(payload.client_id, client.clientId);
    });

    it('shows the next key as soon as a rotation publishes it', async () => {
      const { next } = await t.runtime.signingKeys.rotate();
      const res = await t.app.inject({ method: 'GET', url: '/oauth/jwks' });
      assert.ok(res.json().keys.some((key: { kid: string }) => key.kid === next));
    });
  });
}
