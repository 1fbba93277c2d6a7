import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { scopeInWords } from '../../src/web/client-labels.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { authorizeHeadlessly } from '../helpers/headless-consent.js';
import { assertOAuthError, register } from './registration-client.js';

/**
 * The registration endpoints of the seed contracts beside RFC 7591's `/oauth/register`: seed 003's
 * `/v1/provider-mcp/oauth/register` (named confidential clients), seed 000's `/api/oauth/per-user/register`
 * (public clients only) and seed 004's strict policy (1 to 5 redirect URIs, a configurable scope).
 */

const PROVIDER_MCP = '/v1/provider-mcp/oauth/register';
const PER_USER = '/api/oauth/per-user/register';
const REDIRECT_URI = 'http://127.0.0.1:9876/callback';

/** Drives the authorization code flow with PKCE for `clientId` as the admin; returns the code and its verifier. */
async function authorizationCode(t: TestApp, clientId: string): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${t.url}/oauth/authorize`);
  for (const [name, value] of Object.entries({
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256Challenge(verifier), code_challenge_method: 'S256', state: 'st-1',
  })) url.searchParams.set(name, value);
  const response = await authorizeHeadlessly(url, { credentials: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
  assert.ok(response.code, response.location);
  assert.equal(response.state, 'st-1');
  return { code: response.code, verifier };
}

/** `POST /oauth/token` for a code, with the client's credentials in an Authorization header when given. */
function exchange(t: TestApp, fields: Record<string, string>, authorization?: string) {
  return fetch(`${t.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams({ grant_type: 'authorization_code', redirect_uri: REDIRECT_URI, ...fields }).toString(),
  });
}

/** RFC 6749 §2.3.1: the id and secret form-encoded, then Basic. */
const clientBasic = (clientId: string, secret: string) => basicAuth(encodeURIComponent(clientId), encodeURIComponent(secret));

describe('seed 003: POST /v1/provider-mcp/oauth/register', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ listen: true, flags: { oauth: { registrationsPerIpPerDay: 8 } } });
  });
  after(() => t.close());

  const agent = {
    client_name: 'Research agent',
    redirect_uris: [REDIRECT_URI],
    software_id: 'agent-4711',
    software_version: '3.2.1',
    client_uri: 'https://agent.example.com',
    logo_uri: 'https://agent.example.com/logo.png',
    tos_uri: 'https://agent.example.com/tos',
    policy_uri: 'https://agent.example.com/privacy',
  };

  it('registers a confidential client: client_secret_basic, its secret once with client_secret_expires_at 0, the granted scope, its metadata echoed', async () => {
    const res = await register(t, agent, { url: PROVIDER_MCP });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.token_endpoint_auth_method, 'client_secret_basic');
    assert.match(body.client_secret, /^gth_cs_/);
    assert.equal(body.client_secret_expires_at, 0);
    assert.equal(body.scope, 'mcp:read mcp:write');
    for (const [field, value] of Object.entries(agent)) assert.deepEqual(body[field], value, field);
    const record = await t.runtime.store.clients.find(body.client_id);
    assert.doesNotMatch(record!.metadata + String(record!.secretHash), new RegExp(body.client_secret), 'only a hash of the secret is kept');
  });

  it('honours client_secret_post and refuses none, which would leave the client without its secret', async () => {
    const post = await register(t, { ...agent, token_endpoint_auth_method: 'client_secret_post', scope: 'mcp:read' }, { url: PROVIDER_MCP });
    assert.equal(post.statusCode, 201, post.body);
    assert.equal(post.json().token_endpoint_auth_method, 'client_secret_post');
    assert.equal(post.json().scope, 'mcp:read');
    assert.ok(post.json().client_secret);
    assertOAuthError(await register(t, { ...agent, token_endpoint_auth_method: 'none' }, { url: PROVIDER_MCP }), 400, 'invalid_client_metadata', /confidential/);
  });

  it('requires client_name and redirect_uris (400 with an RFC 7591 error)', async () => {
    const { client_name: _name, ...unnamed } = agent;
    assertOAuthError(await register(t, unnamed, { url: PROVIDER_MCP }), 400, 'invalid_client_metadata', /client_name is required/);
    const { redirect_uris: _uris, ...nowhere } = agent;
    assertOAuthError(await register(t, nowhere, { url: PROVIDER_MCP }), 400, 'invalid_redirect_uri', /redirect_uris/);
    assertOAuthError(await register(t, { ...agent, redirect_uris: ['http://evil.example/cb'] }, { url: PROVIDER_MCP }), 400, 'invalid_redirect_uri', /evil\.example/);
  });

  it('completes the authorization code flow with PKCE, authenticating at /oauth/token with HTTP Basic', async () => {
    const client = (await register(t, agent, { url: PROVIDER_MCP })).json();
    const { code, verifier } = await authorizationCode(t, client.client_id);

    const anonymous = await exchange(t, { code, code_verifier: verifier, client_id: client.client_id });
    assert.equal(anonymous.status, 401, 'a confidential client must authenticate');

    const { code: second, verifier: secondVerifier } = await authorizationCode(t, client.client_id);
    const tokens = await exchange(t, { code: second, code_verifier: secondVerifier }, clientBasic(client.client_id, client.client_secret));
    assert.equal(tokens.status, 200);
    const body = (await tokens.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'mcp:read mcp:write');
    assert.ok(body.access_token);
    assert.ok(body.refresh_token);
  });

  it('shares the per-address registration cap with /oauth/register', async () => {
    const from = { remoteAddress: '198.51.100.9' };
    for (let i = 0; i < 4; i += 1) assert.equal((await register(t, { redirect_uris: [REDIRECT_URI] }, from)).statusCode, 201);
    for (let i = 0; i < 4; i += 1) assert.equal((await register(t, agent, { url: PROVIDER_MCP, ...from })).statusCode, 201);
    assertOAuthError(await register(t, agent, { url: PROVIDER_MCP, ...from }), 429, 'invalid_request', /limit/);
  });
});

describe('seed 000: POST /api/oauth/per-user/register issues public clients only', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('answers a request for a secret with a public client (token_endpoint_auth_method none, no secret)', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      const res = await register(t, { redirect_uris: [REDIRECT_URI], client_name: 'Claude Code', token_endpoint_auth_method: method }, { url: PER_USER });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.equal(body.token_endpoint_auth_method, 'none', method);
      assert.equal('client_secret' in body, false);
      assert.equal('client_secret_expires_at' in body, false);
      assert.equal((await t.runtime.store.clients.find(body.client_id))?.authMethod, 'none');
    }
  });

  it('leaves /oauth/register as it was: a client asking for a secret gets one', async () => {
    const body = (await register(t, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' })).json();
    assert.equal(body.token_endpoint_auth_method, 'client_secret_basic');
    assert.ok(body.client_secret);
  });
});

describe('seed 004: the strict policy with oauth.strictScope "mcp"', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ listen: true, flags: { oauth: { registrationPolicy: 'strict', strictScope: 'mcp' } } });
  });
  after(() => t.close());

  const uris = (n: number) => Array.from({ length: n }, (_, i) => `https://app.example.com/cb/${i}`);

  it('takes 1 to 5 redirect URIs; a sixth is 400 invalid_redirect_uri', async () => {
    assert.equal((await register(t, { redirect_uris: uris(5) })).statusCode, 201);
    assertOAuthError(await register(t, { redirect_uris: uris(6) }), 400, 'invalid_redirect_uri', /at most 5/);
    assertOAuthError(await register(t, { redirect_uris: uris(6) }, { url: PER_USER }), 400, 'invalid_redirect_uri', /at most 5/);
  });

  it('answers the configured scope at registration and at the token endpoint, and the token works at /mcp', async () => {
    const client = (await register(t, { redirect_uris: [REDIRECT_URI], scope: 'mcp:read' })).json();
    assert.equal(client.scope, 'mcp');
    const { code, verifier } = await authorizationCode(t, client.client_id);
    const tokens = (await (await exchange(t, { code, code_verifier: verifier, client_id: client.client_id })).json()) as { access_token: string; scope: string };
    assert.equal(tokens.scope, 'mcp');
    assert.match(scopeInWords('mcp'), /change things on your behalf/, 'the consent page says what mcp allows');

    // `mcp` stands for every scope: listing (mcp:read) and the demo's tools are reachable.
    const mcp = new Client({ name: 'strict-client', version: '1.0.0' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } } }));
    try {
      assert.ok((await mcp.listTools()).tools.length > 0);
    } finally {
      await mcp.close();
    }
  });

  it('still refuses a client asking for a secret, at seed 003’s endpoint too', async () => {
    assertOAuthError(await register(t, { redirect_uris: [REDIRECT_URI], client_name: 'Agent' }, { url: PROVIDER_MCP }), 400, 'invalid_client_metadata', /public clients only/);
  });
});
