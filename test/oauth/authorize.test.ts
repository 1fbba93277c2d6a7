import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { gatewayResource } from '../../src/oauth/resource.js';
import { PAGE_SECURITY_HEADERS } from '../../src/web/page.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { authorizeQuery, registerTestClient } from '../helpers/browserless.js';

const CALLBACK = 'https://app.example/callback';

/** The error a redirect carries, with everything RFC 6749 §4.1.2.1 and RFC 9207 put next to it. */
function redirectedError(res: LightMyRequestResponse, expectedBase = CALLBACK) {
  assert.equal(res.statusCode, 302, res.body);
  const location = new URL(res.headers.location as string);
  assert.equal(`${location.origin}${location.pathname}`, expectedBase);
  return Object.fromEntries(location.searchParams);
}

function assertErrorPage(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 400);
  assert.equal(res.headers.location, undefined, 'never a redirect');
  assert.match(res.headers['content-type'] as string, /^text\/html/);
  for (const [name, value] of Object.entries(PAGE_SECURITY_HEADERS)) assert.equal(res.headers[name], value, name);
}

async function flowOf(t: TestApp, res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 302, res.body);
  const location = new URL(res.headers.location as string, t.config.publicUrl);
  assert.equal(location.pathname, '/oauth/consent');
  const flow = await t.runtime.store.flows.find(location.searchParams.get('flow_id')!);
  assert.ok(flow, 'the flow is stored');
  return flow;
}

describe('GET /oauth/authorize', () => {
  let t: TestApp;
  let clientId: string;
  before(async () => {
    t = await startTestApp();
    clientId = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK], client_name: 'Test app' });
  });
  after(() => t.close());

  const get = (params: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: authorizeQuery({ client_id: clientId, ...params }), headers });

  it('an unknown client gets an error page, never a redirect', async () => {
    const res = await get({ client_id: 'cli_unknown', redirect_uri: CALLBACK });
    assertErrorPage(res);
    assert.match(res.body, /not registered/);
  });

  it('a foreign redirect URI gets an error page, never a redirect', async () => {
    const res = await get({ redirect_uri: 'https://attacker.example/callback' });
    assertErrorPage(res);
    assert.doesNotMatch(res.body, /attacker\.example/, 'the page does not offer a link to the foreign URI');
  });

  it('a redirect URI that only shares a prefix with the registered one is foreign', async () => {
    assertErrorPage(await get({ redirect_uri: `${CALLBACK}/../evil` }));
    assertErrorPage(await get({ redirect_uri: `${CALLBACK}?x=1` }));
  });

  it('a repeated client_id or redirect_uri gets an error page, since neither can be trusted', async () => {
    assertErrorPage(await t.app.inject({ method: 'GET', url: `${authorizeQuery({ client_id: clientId })}&client_id=${clientId}` }));
    assertErrorPage(await t.app.inject({ method: 'GET', url: `${authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK })}&redirect_uri=${encodeURIComponent(CALLBACK)}` }));
  });

  it('the only registered redirect URI is used when none is given', async () => {
    const flow = await flowOf(t, await get({ redirect_uri: undefined }));
    assert.equal(flow.redirectUri, CALLBACK);
  });

  it('with several registered redirect URIs and none given, an error page', async () => {
    const several = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK, 'https://app.example/other'] });
    assertErrorPage(await get({ client_id: several, redirect_uri: undefined }));
  });

  it('a loopback redirect URI matches on any port, and the flow keeps the port the client asked for', async () => {
    const loopback = await registerTestClient(t.runtime, { redirect_uris: ['http://127.0.0.1/callback'] });
    const flow = await flowOf(t, await get({ client_id: loopback, redirect_uri: 'http://127.0.0.1:49152/callback' }));
    assert.equal(flow.redirectUri, 'http://127.0.0.1:49152/callback');
    // localhost is another host than 127.0.0.1, and the path must still match.
    assertErrorPage(await get({ client_id: loopback, redirect_uri: 'http://localhost:49152/callback' }));
    assertErrorPage(await get({ client_id: loopback, redirect_uri: 'http://127.0.0.1:49152/other' }));
  });

  for (const [name, params] of [
    ['a missing code_challenge', { code_challenge: undefined }],
    ['code_challenge_method plain', { code_challenge_method: 'plain' }],
    ['a missing code_challenge_method (plain by default)', { code_challenge_method: undefined }],
    ['a code_challenge too short to be S256', { code_challenge: 'abc' }],
    ['a code_challenge outside the PKCE alphabet', { code_challenge: `${'a'.repeat(42)}+` }],
  ] as const) {
    it(`${name} is refused with invalid_request, state and iss`, async () => {
      const query = redirectedError(await get({ redirect_uri: CALLBACK, ...params }));
      assert.equal(query.error, 'invalid_request');
      assert.ok(query.error_description);
      assert.equal(query.state, 'st-123');
      assert.equal(query.iss, t.config.publicUrl);
    });
  }

  it('a response_type other than code is unsupported_response_type', async () => {
    const query = redirectedError(await get({ redirect_uri: CALLBACK, response_type: 'token' }));
    assert.equal(query.error, 'unsupported_response_type');
    assert.equal(query.iss, t.config.publicUrl);
  });

  it('an unknown resource is invalid_target', async () => {
    const query = redirectedError(await get({ redirect_uri: CALLBACK, resource: 'https://elsewhere.example/mcp' }));
    assert.equal(query.error, 'invalid_target');
    assert.equal(query.state, 'st-123');
  });

  it('an absent resource defaults to the canonical /mcp URL; the canonical one is accepted', async () => {
    assert.equal((await flowOf(t, await get({ redirect_uri: CALLBACK }))).resource, gatewayResource(t.config.publicUrl));
    const given = await flowOf(t, await get({ redirect_uri: CALLBACK, resource: gatewayResource(t.config.publicUrl) }));
    assert.equal(given.resource, gatewayResource(t.config.publicUrl));
  });

  it('a parameter given twice is invalid_request', async () => {
    const res = await t.app.inject({ method: 'GET', url: `${authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, scope: 'mcp:read' })}&scope=mcp:write` });
    const query = redirectedError(res);
    assert.equal(query.error, 'invalid_request');
    assert.match(query.error_description!, /scope/);
    assert.equal(query.iss, t.config.publicUrl);
  });

  it('without state, the error redirect carries no state but still carries iss', async () => {
    const query = redirectedError(await get({ redirect_uri: CALLBACK, state: undefined, code_challenge: undefined }));
    assert.equal(query.state, undefined);
    assert.equal(query.iss, t.config.publicUrl);
  });

  it('an error is appended to a redirect URI that already has a query, keeping that query', async () => {
    const withQuery = 'https://app.example/cb?tenant=a%20b&x=1';
    const client = await registerTestClient(t.runtime, { redirect_uris: [withQuery] });
    const res = await get({ client_id: client, redirect_uri: withQuery, code_challenge: undefined });
    assert.equal(res.statusCode, 302);
    const location = res.headers.location as string;
    assert.ok(location.startsWith(`${withQuery}&error=invalid_request&`), location);
    assert.equal(new URL(location).searchParams.get('iss'), t.config.publicUrl);
  });

  it('unknown scopes are dropped and an absent scope gets the default', async () => {
    assert.equal((await flowOf(t, await get({ redirect_uri: CALLBACK, scope: 'mcp:read offline_access other:thing' }))).scope, 'mcp:read');
    assert.equal((await flowOf(t, await get({ redirect_uri: CALLBACK, scope: undefined }))).scope, 'mcp:read mcp:write');
  });

  it('a client registered for mcp:read cannot ask for mcp:write', async () => {
    const reader = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK], scope: 'mcp:read' });
    assert.equal((await flowOf(t, await get({ client_id: reader, redirect_uri: CALLBACK, scope: 'mcp:read mcp:write' }))).scope, 'mcp:read');
  });

  it('stores the flow with the request and sets an HttpOnly, SameSite=Lax flow cookie for it', async () => {
    const res = await get({ redirect_uri: CALLBACK, state: 'abc', prompt: 'consent' });
    const flow = await flowOf(t, res);
    assert.deepEqual(
      { clientId: flow.clientId, state: flow.state, prompt: flow.prompt, completedAt: flow.completedAt, ttl: flow.expiresAt - flow.createdAt },
      { clientId, state: 'abc', prompt: 'consent', completedAt: null, ttl: 15 * 60 * 1000 },
    );
    const cookie = res.cookies.find((c) => c.name === `gatehouse_flow_${flow.id}`) as { value: string; httpOnly?: boolean; sameSite?: string; path?: string; secure?: boolean; maxAge?: number } | undefined;
    assert.ok(cookie, 'a cookie named after the flow');
    assert.deepEqual([cookie.httpOnly, cookie.sameSite, cookie.path, cookie.secure, cookie.maxAge], [true, 'Lax', '/', undefined, 900]);
    assert.match(cookie.value, /^gth_fs_[A-Za-z0-9_-]{43}\.gth_csrf_[A-Za-z0-9_-]{43}$/);
    assert.ok(!flow.browserHash.includes(cookie.value.split('.')[0]!), 'only a hash of the flow secret is stored');
  });

  it('answers without CORS headers even to a cross-origin request', async () => {
    const res = await get({ redirect_uri: CALLBACK }, { origin: 'https://app.example' });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const preflight = await t.app.inject({ method: 'OPTIONS', url: '/oauth/authorize', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  it('POST with a form body runs the same checks and answers 303', async () => {
    const form = new URLSearchParams(authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK }).split('?')[1]).toString();
    const res = await t.app.inject({ method: 'POST', url: '/oauth/authorize', payload: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.statusCode, 303);
    assert.match(res.headers.location as string, /^\/oauth\/consent\?flow_id=flow_/);
    const refused = await t.app.inject({ method: 'POST', url: '/oauth/authorize', payload: `${form}&state=again`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(refused.statusCode, 303);
    assert.equal(new URL(refused.headers.location as string).searchParams.get('error'), 'invalid_request');
    const foreign = await t.app.inject({ method: 'POST', url: '/oauth/authorize', payload: form.replace(encodeURIComponent(CALLBACK), encodeURIComponent('https://evil.example/cb')), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertErrorPage(foreign);
  });
});

describe('GET /oauth/authorize over https and under the strict policy', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { publicUrl: 'https://gatehouse.example', oauth: { registrationPolicy: 'strict' } } });
  });
  after(() => t.close());

  it('the flow cookie is __Host- prefixed and Secure, and the strict policy grants the default scope', async () => {
    const clientId = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK] });
    const res = await t.app.inject({ method: 'GET', url: authorizeQuery({ client_id: clientId, scope: 'mcp:read' }) });
    const flow = await flowOf(t, res);
    const cookie = res.cookies.find((c) => c.name === `__Host-gatehouse_flow_${flow.id}`) as { secure?: boolean; path?: string; domain?: string } | undefined;
    assert.ok(cookie);
    assert.deepEqual([cookie.secure, cookie.path, cookie.domain], [true, '/', undefined]);
    assert.equal(flow.scope, 'mcp:read mcp:write');
    const error = await t.app.inject({ method: 'GET', url: authorizeQuery({ client_id: clientId, code_challenge: undefined }) });
    assert.equal(new URL(error.headers.location as string).searchParams.get('iss'), 'https://gatehouse.example');
  });
});
