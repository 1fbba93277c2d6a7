import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { assertOAuthError, register, registered } from '../oauth/registration-client.js';
import { assertEnvelope, sendJson } from './api-client.js';

for (const backend of backends) {
  describe(`admin API for OAuth clients on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    it('lists and shows clients without any secret or registration token hash', async () => {
      const created = await registered(t, { redirect_uris: ['https://app.example.com/cb'], client_name: 'Listed', token_endpoint_auth_method: 'client_secret_post' });
      const list = await sendJson(t, 'GET', '/api/oauth/clients');
      assert.equal(list.statusCode, 200, list.body);
      assert.equal(list.headers['cache-control'], 'no-store');
      const view = list.json().clients.find((c: { client_id: string }) => c.client_id === created.client_id);
      assert.deepEqual(Object.keys(view).sort(), ['client_id', 'created_at', 'created_ip', 'kind', 'metadata', 'token_endpoint_auth_method', 'updated_at']);
      assert.equal(view.kind, 'dynamic');
      assert.equal(view.token_endpoint_auth_method, 'client_secret_post');
      assert.equal(view.metadata.client_name, 'Listed');
      const record = (await t.runtime.store.clients.find(created.client_id))!;
      for (const secret of [record.secretHash!, record.registrationTokenHash!, created.client_secret, created.registration_access_token]) {
        assert.equal(list.body.includes(secret), false, 'no secret or hash of one in the list');
      }

      const one = await sendJson(t, 'GET', `/api/oauth/clients/${created.client_id}`);
      assert.equal(one.statusCode, 200, one.body);
      assert.deepEqual(one.json(), view);
    });

    it('deletes a client, revoking its grants and forgetting its consents, with an audit record', async () => {
      const created = await registered(t);
      const admin = (await t.runtime.users.find('admin'))!;
      const resource = `${t.config.publicUrl}/mcp`;
      await t.runtime.grants.issueAuthorizationCode({
        userId: admin.id, clientId: created.client_id, scope: 'mcp:read', resource, redirectUri: 'https://app.example.com/cb', codeChallenge: 'y'.repeat(43), ip: null,
      });
      await t.runtime.store.consents.save({ userId: admin.id, clientId: created.client_id, resource, scope: 'mcp:read', grantedAt: Date.now() });

      const res = await sendJson(t, 'DELETE', `/api/oauth/clients/${created.client_id}`);
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(await t.runtime.store.clients.find(created.client_id), undefined);
      const [grant] = await t.runtime.store.grants.list({ clientId: created.client_id, includeRevoked: true });
      assert.notEqual(grant?.revokedAt, null);
      assert.equal(await t.runtime.store.consents.find(admin.id, created.client_id, resource), undefined);
      const [event] = await t.runtime.store.audit.list({ kind: 'client.deleted', clientId: created.client_id, limit: 1 });
      assert.equal(event?.userId, admin.id);
      assertEnvelope(await sendJson(t, 'GET', `/api/oauth/clients/${created.client_id}`), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    });

    it('answers 404 envelopes for unknown clients', async () => {
      assertEnvelope(await sendJson(t, 'GET', '/api/oauth/clients/cli_unknown'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
      assertEnvelope(await sendJson(t, 'DELETE', '/api/oauth/clients/cli_unknown'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    });

    it('creates an initial access token shown once, lists it without the token and revokes it', async () => {
      const res = await sendJson(t, 'POST', '/api/oauth/initial-access-tokens', {});
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      assert.deepEqual(Object.keys(created).sort(), ['expires_at', 'id', 'token']);
      assert.match(created.token, /^gth_iat_/);
      const lifetime = Date.parse(created.expires_at) - Date.now();
      assert.ok(lifetime > 23 * 3600_000 && lifetime <= 24 * 3600_000, 'lives 24 hours by default');

      const list = await sendJson(t, 'GET', '/api/oauth/initial-access-tokens');
      assert.equal(list.statusCode, 200, list.body);
      assert.equal(list.body.includes(created.token), false);
      assert.equal(list.body.includes(t.runtime.keys.tokenHasher.hash(created.token)), false);
      const view = list.json().initial_access_tokens.find((token: { id: string }) => token.id === created.id);
      assert.equal(view.created_by, 'admin');
      assert.equal(view.used_at, null);
      assert.equal(view.revoked_at, null);

      assert.equal((await sendJson(t, 'DELETE', `/api/oauth/initial-access-tokens/${created.id}`)).statusCode, 204);
      assert.equal((await sendJson(t, 'DELETE', `/api/oauth/initial-access-tokens/${created.id}`)).statusCode, 204, 'revoking again succeeds');
      const after = (await sendJson(t, 'GET', '/api/oauth/initial-access-tokens')).json();
      assert.notEqual(after.initial_access_tokens.find((token: { id: string }) => token.id === created.id).revoked_at, null);
      assertEnvelope(await sendJson(t, 'DELETE', '/api/oauth/initial-access-tokens/iat_unknown'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    });
  });
}

describe('initial access tokens and the closed policy', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { oauth: { registrationPolicy: 'closed' } } });
  });
  after(() => t.close());

  const client = { redirect_uris: ['https://app.example.com/cb'] };

  it('a token created by an admin registers one client; a revoked one none', async () => {
    const created = (await sendJson(t, 'POST', '/api/oauth/initial-access-tokens', { expires_in: 600 })).json();
    const lifetime = Date.parse(created.expires_at) - Date.now();
    assert.ok(lifetime > 500_000 && lifetime <= 600_000, 'expires_in is honoured');
    const auth = { authorization: `Bearer ${created.token}` };
    assert.equal((await register(t, client, { headers: auth })).statusCode, 201);
    assertOAuthError(await register(t, client, { headers: auth }), 401, 'invalid_token');
    const view = (await sendJson(t, 'GET', '/api/oauth/initial-access-tokens')).json().initial_access_tokens[0];
    assert.notEqual(view.used_at, null, 'the list shows it used');

    const revoked = (await sendJson(t, 'POST', '/api/oauth/initial-access-tokens')).json();
    assert.equal((await sendJson(t, 'DELETE', `/api/oauth/initial-access-tokens/${revoked.id}`)).statusCode, 204);
    assertOAuthError(await register(t, client, { headers: { authorization: `Bearer ${revoked.token}` } }), 401, 'invalid_token');
  });

  it('refuses lifetimes out of range and unknown fields', async () => {
    for (const body of [{ expires_in: 10 }, { expires_in: 31 * 24 * 3600 }, { expires_in: 'soon' }, { lifetime: 60 }]) {
      assertEnvelope(await sendJson(t, 'POST', '/api/oauth/initial-access-tokens', body), {
        status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'lifetime' in body ? 'lifetime' : 'expires_in',
      });
    }
  });

  it('needs admin credentials for the admin routes', async () => {
    for (const [method, url] of [['GET', '/api/oauth/clients'], ['GET', '/api/oauth/clients/x'], ['DELETE', '/api/oauth/clients/x'], ['POST', '/api/oauth/initial-access-tokens'], ['GET', '/api/oauth/initial-access-tokens'], ['DELETE', '/api/oauth/initial-access-tokens/x']] as const) {
      assertEnvelope(await sendJson(t, method, url, undefined, {}), { status: 401, type: 'authentication_error', code: 'unauthorized' });
    }
  });
});
