import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OAuthClientInformationFullSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { authenticateClient } from '../../src/oauth/clients.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { assertOAuthError, CURSOR_REDIRECT_URIS, register, registered } from './registration-client.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function configure(t: TestApp, method: 'GET' | 'PUT' | 'DELETE', clientId: string, headers: Record<string, string>, body?: unknown) {
  return t.app.inject({
    method,
    url: `/oauth/register/${clientId}`,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
}

function assertNoNulls(value: unknown, path = 'body'): void {
  assert.notEqual(value, null, `${path} is null`);
  if (typeof value === 'object') for (const [key, inner] of Object.entries(value as object)) assertNoNulls(inner, `${path}.${key}`);
}

for (const backend of backends) {
  describe(`client registration on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend, flags: { publicUrl: 'https://gatehouse.example.com' } });
    });
    after(() => t.close());

    it("registers Cursor's three redirect URIs as a public client and echoes the metadata without nulls", async () => {
      const res = await register(t, { redirect_uris: CURSOR_REDIRECT_URIS, client_name: 'Cursor', logo_uri: null, extension_field: 'x' }, { remoteAddress: '203.0.113.7' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assertNoNulls(body);
      OAuthClientInformationFullSchema.parse(body);
      assert.match(body.client_id, /^cli_/);
      assert.deepEqual(body.redirect_uris, CURSOR_REDIRECT_URIS);
      assert.equal(body.token_endpoint_auth_method, 'none');
      assert.deepEqual(body.grant_types, ['authorization_code', 'refresh_token']);
      assert.deepEqual(body.response_types, ['code']);
      assert.equal(body.client_name, 'Cursor');
      assert.equal(Number.isInteger(body.client_id_issued_at), true);
      assert.ok(Math.abs(body.client_id_issued_at - Date.now() / 1000) < 3600, 'issued_at is in seconds');
      assert.match(body.registration_access_token, /^gth_rat_/);
      assert.equal(body.registration_client_uri, `https://gatehouse.example.com/oauth/register/${body.client_id}`);
      assert.equal('client_secret' in body, false);
      assert.equal('client_secret_expires_at' in body, false);
      assert.equal('extension_field' in body, false, 'unknown fields are not echoed');

      const record = await t.runtime.store.clients.find(body.client_id);
      assert.equal(record?.kind, 'dynamic');
      assert.equal(record?.createdIp, '203.0.113.7');
      assert.equal(record?.registrationTokenHash, t.runtime.keys.tokenHasher.hash(body.registration_access_token));
      const { client_id: _id, client_id_issued_at: _at, registration_access_token: _rat, registration_client_uri: _uri, ...echoed } = body;
      assert.deepEqual(JSON.parse(record!.metadata), echoed);

      const [event] = await t.runtime.store.audit.list({ kind: 'client.registered', clientId: body.client_id, limit: 5 });
      assert.equal(event?.ip, '203.0.113.7');
      assert.equal(JSON.parse(event!.detail).client_name, 'Cursor');
      assert.doesNotMatch(event!.detail, /gth_/);
    });

    it('gives a confidential client its secret once and stores only keyed hashes', async () => {
      const body = await registered(t, { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'client_secret_basic' });
      OAuthClientInformationFullSchema.parse(body);
      assert.match(body.client_secret, /^gth_cs_/);
      assert.equal(body.client_secret_expires_at, 0);
      const row = await t.runtime.store.database.get<Record<string, unknown>>('SELECT * FROM oauth_clients WHERE client_id = ?', [body.client_id]);
      assert.equal(row?.secret_hash, t.runtime.keys.tokenHasher.hash(body.client_secret));
      const rowText = JSON.stringify(row);
      assert.equal(rowText.includes(body.client_secret), false, 'the secret itself is not stored');
      assert.equal(rowText.includes(body.registration_access_token), false, 'the registration access token is not stored');
      // The secret works at the token endpoint's client authentication.
      const client = await authenticateClient({ clientId: body.client_id, clientSecret: body.client_secret, ip: '127.0.0.1' }, t.runtime.clients, t.runtime.keys.tokenHasher, t.runtime.clock());
      assert.equal(client.clientId, body.client_id);

      const read = await configure(t, 'GET', body.client_id, bearer(body.registration_access_token));
      assert.equal(read.statusCode, 200, read.body);
      assert.equal('client_secret' in read.json(), false, 'the secret is never shown again');
      assert.equal(read.json().client_secret_expires_at, 0);
    });

    it('reads a client with its registration access token (RFC 7592)', async () => {
      const created = await registered(t, { redirect_uris: ['https://app.example.com/cb'], client_name: 'Reader' });
      const res = await configure(t, 'GET', created.client_id, bearer(created.registration_access_token));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      OAuthClientInformationFullSchema.parse(res.json());
      assert.deepEqual(res.json(), created);
    });

    it('refuses a wrong, missing or other client token alike, without telling whether the client exists', async () => {
      const a = await registered(t);
      const b = await registered(t);
      const attempts: [string, Record<string, string>][] = [
        [a.client_id, {}],
        [a.client_id, bearer('gth_rat_wrong')],
        [a.client_id, bearer(b.registration_access_token)],
        [a.client_id, { authorization: `Basic ${Buffer.from(`${a.client_id}:x`).toString('base64')}` }],
        ['cli_doesnotexist', bearer(a.registration_access_token)],
      ];
      const bodies = new Set<string>();
      for (const [clientId, headers] of attempts) {
        for (const method of ['GET', 'PUT', 'DELETE'] as const) {
          const res = await configure(t, method, clientId, headers, method === 'PUT' ? { redirect_uris: ['https://evil.example/cb'] } : undefined);
          assertOAuthError(res, 401, 'invalid_token');
          assert.match(String(res.headers['www-authenticate']), /^Bearer error="invalid_token"/);
          bodies.add(res.body);
        }
      }
      assert.equal(bodies.size, 1, 'every refusal reads the same');
      assert.ok(await t.runtime.store.clients.find(a.client_id), 'nothing was deleted');
      assert.deepEqual(JSON.parse((await t.runtime.store.clients.find(a.client_id))!.metadata).redirect_uris, ['https://app.example.com/cb']);
    });

    it('replaces the metadata on PUT and keeps a confidential client confidential with its secret', async () => {
      const created = await registered(t, { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'client_secret_post', client_name: 'Old' });
      const res = await configure(t, 'PUT', created.client_id, bearer(created.registration_access_token), {
        client_id: created.client_id,
        redirect_uris: ['https://app.example.com/new-cb'],
        client_name: 'New',
      });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      OAuthClientInformationFullSchema.parse(body);
      assert.deepEqual(body.redirect_uris, ['https://app.example.com/new-cb']);
      assert.equal(body.client_name, 'New');
      assert.equal(body.token_endpoint_auth_method, 'client_secret_post');
      assert.equal(body.registration_access_token, created.registration_access_token);
      const record = await t.runtime.store.clients.find(created.client_id);
      assert.equal(record?.secretHash, t.runtime.keys.tokenHasher.hash(created.client_secret), 'the secret is unchanged');
      assert.equal(JSON.parse(record!.metadata).client_name, 'New');
      const [event] = await t.runtime.store.audit.list({ kind: 'client.updated', clientId: created.client_id, limit: 1 });
      assert.ok(event);
    });

    it('refuses a PUT that names another client, repeats a wrong secret, drops the secret or breaks the rules', async () => {
      const created = await registered(t, { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'client_secret_basic' });
      const put = (body: unknown) => configure(t, 'PUT', created.client_id, bearer(created.registration_access_token), body);
      const redirect_uris = ['https://app.example.com/cb'];
      assertOAuthError(await put({ client_id: 'cli_other', redirect_uris }), 400, 'invalid_request', /client_id/);
      assertOAuthError(await put({ client_secret: 'gth_cs_wrong', redirect_uris }), 400, 'invalid_request', /client_secret/);
      assertOAuthError(await put({ redirect_uris, token_endpoint_auth_method: 'none' }), 400, 'invalid_client_metadata', /cannot change/);
      assertOAuthError(await put({ redirect_uris: ['http://evil.example/cb'] }), 400, 'invalid_redirect_uri', /evil\.example/);
      assert.deepEqual(JSON.parse((await t.runtime.store.clients.find(created.client_id))!.metadata).redirect_uris, redirect_uris);
    });

    it('deletes a client on DELETE, revoking its grants and forgetting its consents', async () => {
      const created = await registered(t);
      const admin = (await t.runtime.users.find('admin'))!;
      await t.runtime.grants.issueAuthorizationCode({
        userId: admin.id, clientId: created.client_id, scope: 'mcp:read', resource: 'https://gatehouse.example.com/mcp',
        redirectUri: 'https://app.example.com/cb', codeChallenge: 'x'.repeat(43), ip: null,
      });
      await t.runtime.store.consents.save({ userId: admin.id, clientId: created.client_id, resource: 'https://gatehouse.example.com/mcp', scope: 'mcp:read', grantedAt: Date.now() });

      const res = await configure(t, 'DELETE', created.client_id, bearer(created.registration_access_token));
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(await t.runtime.store.clients.find(created.client_id), undefined);
      const grants = await t.runtime.store.grants.list({ clientId: created.client_id, includeRevoked: true });
      assert.equal(grants.length, 1);
      assert.notEqual(grants[0]!.revokedAt, null, 'the grant is revoked');
      assert.equal(await t.runtime.store.consents.find(admin.id, created.client_id, 'https://gatehouse.example.com/mcp'), undefined);
      const [event] = await t.runtime.store.audit.list({ kind: 'client.deleted', clientId: created.client_id, limit: 1 });
      assert.equal(JSON.parse(event!.detail).revoked_grants, 1);
      assertOAuthError(await configure(t, 'GET', created.client_id, bearer(created.registration_access_token)), 401, 'invalid_token');
    });
  });
}

describe('client registration requests', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it("registers VS Code's loopback and vscode.dev redirect URIs", async () => {
    const redirect_uris = ['http://127.0.0.1/', 'http://127.0.0.1:33418/', 'https://vscode.dev/redirect'];
    const body = await registered(t, { redirect_uris, client_name: 'Visual Studio Code', application_type: 'native' });
    assert.deepEqual(body.redirect_uris, redirect_uris);
    assert.equal(body.application_type, 'native');
  });

  it("registers Claude Code's loopback redirect URI", async () => {
    const body = await registered(t, {
      redirect_uris: ['http://localhost:54321/callback'], client_name: 'Claude Code', grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'mcp:read mcp:write offline_access',
    });
    OAuthClientInformationFullSchema.parse(body);
    assert.equal(body.scope, 'mcp:read mcp:write');
  });

  it('refuses a set of redirect URIs with one bad URI, naming it', async () => {
    const res = await register(t, { redirect_uris: ['https://ok.example/cb', 'javascript:alert(1)'] });
    assertOAuthError(res, 400, 'invalid_redirect_uri', /"javascript:alert\(1\)"/);
  });

  it('refuses metadata it cannot honour with invalid_client_metadata', async () => {
    assertOAuthError(await register(t, { redirect_uris: ['https://ok.example/cb'], grant_types: ['client_credentials'] }), 400, 'invalid_client_metadata', /authorization_code/);
    assertOAuthError(await register(t, ['https://ok.example/cb']), 400, 'invalid_client_metadata');
  });

  it('answers the Bifrost alias path without any credentials', async () => {
    const res = await register(t, { redirect_uris: ['https://app.example.com/cb'] }, { url: '/api/oauth/per-user/register' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const body = res.json();
    assert.ok(await t.runtime.store.clients.find(body.client_id));
    assert.equal(body.registration_client_uri, `${t.config.publicUrl}/oauth/register/${body.client_id}`);
    const refused = await register(t, { redirect_uris: [] }, { url: '/api/oauth/per-user/register' });
    assertOAuthError(refused, 400, 'invalid_redirect_uri');
  });

  it('answers CORS preflights on the registration endpoints and allows cross-origin calls', async () => {
    for (const url of ['/oauth/register', '/api/oauth/per-user/register', '/oauth/register/cli_x']) {
      const res = await t.app.inject({
        method: 'OPTIONS', url,
        headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
      assert.equal(res.statusCode, 204, url);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.match(String(res.headers['access-control-allow-headers']), /Authorization/);
      assert.match(String(res.headers['access-control-allow-headers']), /Content-Type/);
      assert.match(String(res.headers['access-control-allow-methods']), /POST/);
    }
    const res = await register(t, { redirect_uris: ['https://app.example.com/cb'] }, { headers: { origin: 'https://inspector.example' } });
    assert.equal(res.headers['access-control-allow-origin'], '*');
  });

  it('refuses bodies that are not JSON with invalid_request', async () => {
    const cases = [
      { 'content-type': 'application/json', payload: '{"redirect_uris": [' },
      { 'content-type': 'application/json', payload: '' },
      { 'content-type': 'application/x-www-form-urlencoded', payload: 'redirect_uris=https%3A%2F%2Fapp.example.com%2Fcb' },
      { 'content-type': 'text/plain', payload: 'hello' },
    ];
    for (const { payload, ...headers } of cases) {
      const res = await t.app.inject({ method: 'POST', url: '/oauth/register', headers, payload });
      assertOAuthError(res, 400, 'invalid_request');
    }
  });

  it('refuses an oversized body with 413 and an OAuth error body', async () => {
    const res = await register(t, { redirect_uris: ['https://app.example.com/cb'], client_name: 'x'.repeat(100_000) });
    assertOAuthError(res, 413, 'invalid_request', /too large/);
  });
});
