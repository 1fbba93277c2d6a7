import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { gatewayResource } from '../../src/oauth/resource.js';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { authorizeQuery, Browserless, hiddenInputs, registerTestClient } from '../helpers/browserless.js';
import { testClock } from '../helpers/clock.js';

const CALLBACK = 'https://app.example/callback';

describe('consent pages over http', () => {
  let t: TestApp;
  let clientId: string;
  const clock = testClock();
  before(async () => {
    t = await startTestApp({ clock });
    clientId = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK], client_name: 'Notes <b>App</b>' });
  });
  after(() => t.close());

  const browser = () => new Browserless(t.app, t.config.publicUrl);

  /** Signs in, starts an authorization and lands on the consent page (prompt=consent: earlier tests approved this client). */
  async function consentPage(b: Browserless, params: Record<string, string | undefined> = {}) {
    if (![...b.cookies.keys()].some((name) => name.endsWith('gatehouse_session'))) assert.equal((await b.signIn()).statusCode, 303);
    const { response, external } = await b.navigate({ url: authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, prompt: 'consent', ...params }) });
    assert.equal(external, undefined, 'no redirect to the client yet');
    assert.equal(response.statusCode, 200, response.body);
    return { page: response, fields: hiddenInputs(response.body) };
  }

  function decide(b: Browserless, fields: Record<string, string>, decision: string) {
    return b.request({ method: 'POST', url: '/oauth/consent', form: { ...fields, decision } });
  }

  function callbackQuery(res: LightMyRequestResponse) {
    assert.equal(res.statusCode, 303, res.body);
    const location = new URL(res.headers.location as string);
    assert.equal(`${location.origin}${location.pathname}`, CALLBACK);
    return Object.fromEntries(location.searchParams);
  }

  async function auditKinds(): Promise<string[]> {
    return (await t.runtime.store.audit.list({ clientId, limit: 100 })).map((event) => event.kind);
  }

  it('a browser that is not signed in is sent to sign in, and comes back to the consent page', async () => {
    const b = browser();
    const start = await b.request({ url: authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK }) });
    const consentUrl = start.headers.location as string;
    const res = await b.request({ url: consentUrl });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `/login?next=${encodeURIComponent(`${consentUrl}&signed_in=1`)}`);
    const signIn = await b.request({ method: 'POST', url: '/login', form: { username: 'admin', password: TEST_ADMIN_PASSWORD, next: `${consentUrl}&signed_in=1` } });
    assert.equal(signIn.headers.location, `${consentUrl}&signed_in=1`);
    const back = await b.request({ url: signIn.headers.location as string });
    assert.equal(back.statusCode, 200);
  });

  it('the consent page names the app as unverified, shows the redirect host, the access in words, the user and the form', async () => {
    const { page, fields } = await consentPage(browser());
    assert.match(page.body, /Notes &lt;b&gt;App&lt;\/b&gt;/, 'the client name is escaped');
    assert.doesNotMatch(page.body, /<b>App<\/b>/);
    assert.match(page.body, /Unverified application/);
    assert.match(page.body, /sent to <strong>app\.example<\/strong>/);
    assert.match(page.body, /See the tools, resources and prompts available to you, and use read-only tools/);
    assert.match(page.body, /Use tools that can change things on your behalf/);
    assert.match(page.body, /Signed in as <strong>admin<\/strong>/);
    assert.match(page.body, /<form method="post" action="\/oauth\/consent">/);
    assert.match(page.body, /<button type="submit" name="decision" value="approve">/);
    assert.match(page.body, /<button type="submit" name="decision" value="deny"/);
    assert.match(page.body, /<form method="post" action="\/logout">/);
    assert.match(fields.flow_id!, /^flow_/);
    assert.match(fields.csrf_token!, /^gth_csrf_/);
    assert.doesNotMatch(page.body, /<script/i);
    assert.doesNotMatch(page.body, /<fieldset|connect_upstream/, 'no per-user upstreams here: nothing to connect, no fieldset');
  });

  it('the consent page forbids framing and lets its form lead only here and to the redirect origin', async () => {
    const { page } = await consentPage(browser());
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const csp = page.headers['content-security-policy'] as string;
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self' https:\/\/app\.example;/);
    assert.equal(page.headers['cache-control'], 'no-store');
  });

  it('approve redirects with a code, state and iss; the code hash is stored and consent.given recorded', async () => {
    const b = browser();
    const { fields } = await consentPage(b, { state: 'approve-state' });
    const res = await decide(b, fields, 'approve');
    const query = callbackQuery(res);
    assert.match(query.code!, /^gth_ac_/);
    assert.equal(query.state, 'approve-state');
    assert.equal(query.iss, t.config.publicUrl);
    const stored = await t.runtime.store.database.get<{ client_id: string }>('SELECT client_id FROM authorization_codes WHERE code_hash = ?', [t.runtime.keys.tokenHasher.hash(query.code!)]);
    assert.equal(stored?.client_id, clientId);
    assert.ok(![...b.cookies.keys()].some((name) => name.includes('gatehouse_flow_')), 'the flow cookie is cleared');
    assert.ok((await auditKinds()).includes('consent.given'));
  });

  it('deny redirects with access_denied, state and iss, issues no code and records consent.refused', async () => {
    const b = browser();
    const { fields } = await consentPage(b, { state: 'deny-state' });
    const query = callbackQuery(await decide(b, fields, 'deny'));
    assert.deepEqual([query.error, query.state, query.iss, query.code], ['access_denied', 'deny-state', t.config.publicUrl, undefined]);
    assert.ok((await auditKinds()).includes('consent.refused'));
  });

  it('a consent form posted without its CSRF token, or with a wrong one, is refused and the flow stays usable', async () => {
    const b = browser();
    const { fields } = await consentPage(b);
    const missing = await decide(b, { flow_id: fields.flow_id! }, 'approve');
    assert.equal(missing.statusCode, 403);
    assert.equal(missing.headers.location, undefined);
    const wrong = await decide(b, { ...fields, csrf_token: `gth_csrf_${'A'.repeat(43)}` }, 'approve');
    assert.equal(wrong.statusCode, 403);
    assert.equal((await t.runtime.store.flows.find(fields.flow_id!))?.completedAt, null);
    assert.ok(callbackQuery(await decide(b, fields, 'approve')).code);
  });

  it('the CSRF token of one flow does not approve another', async () => {
    const b = browser();
    const first = await consentPage(b);
    const second = await consentPage(b);
    const crossed = await decide(b, { flow_id: second.fields.flow_id!, csrf_token: first.fields.csrf_token! }, 'approve');
    assert.equal(crossed.statusCode, 403);
  });

  it('two tabs with two flows both complete', async () => {
    const b = browser();
    const first = await consentPage(b, { state: 'tab-1' });
    const second = await consentPage(b, { state: 'tab-2' });
    assert.equal(callbackQuery(await decide(b, second.fields, 'approve')).state, 'tab-2');
    assert.equal(callbackQuery(await decide(b, first.fields, 'deny')).state, 'tab-1');
  });

  it('consent from another browser (without the flow cookie) is refused, even signed in', async () => {
    const b = browser();
    const { fields } = await consentPage(b);
    const other = browser();
    await other.signIn();
    const page = await other.request({ url: `/oauth/consent?flow_id=${fields.flow_id}` });
    assert.equal(page.statusCode, 403);
    assert.match(page.body, /another browser/);
    const post = await decide(other, fields, 'approve');
    assert.equal(post.statusCode, 403);
    assert.equal(post.headers.location, undefined);
  });

  it('a replayed consent form gets the expired page', async () => {
    const b = browser();
    const { fields } = await consentPage(b);
    const flowCookies = new Map(b.cookies);
    assert.ok(callbackQuery(await decide(b, fields, 'approve')).code);
    for (const [name, value] of flowCookies) b.cookies.set(name, value);
    const replay = await decide(b, fields, 'approve');
    assert.equal(replay.statusCode, 400);
    assert.match(replay.body, /expired or was already used/);
  });

  it('an expired flow gets the expired page', async () => {
    const b = browser();
    const { fields } = await consentPage(b);
    clock.advance((t.config.oauth.flowTtlSeconds + 1) * 1000);
    const page = await b.request({ url: `/oauth/consent?flow_id=${fields.flow_id}` });
    assert.equal(page.statusCode, 400);
    assert.match(page.body, /This sign-in link has expired or was already used; go back to your app and try again/);
    assert.equal((await decide(b, fields, 'approve')).statusCode, 400);
  });

  it('an unknown or malformed flow id gets the expired page', async () => {
    for (const url of ['/oauth/consent?flow_id=flow_AAAAAAAAAAAAAAAAAAAAAA', '/oauth/consent', '/oauth/consent?flow_id=x&flow_id=y']) {
      const res = await browser().request({ url });
      assert.equal(res.statusCode, 400, url);
      assert.match(res.body, /expired or was already used/);
    }
  });

  it('a consent form posted from another site is refused', async () => {
    const b = browser();
    const { fields } = await consentPage(b);
    const res = await b.request({ method: 'POST', url: '/oauth/consent', form: { ...fields, decision: 'approve' }, headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.statusCode, 403);
    assert.equal((await t.runtime.store.flows.find(fields.flow_id!))?.completedAt, null);
  });

  it('a consent form without a decision is a bad request', async () => {
    const b = browser();
    const { fields } = await consentPage(b);
    const res = await decide(b, fields, 'maybe');
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it('remembered consent skips the page next time; more scope or prompt=consent asks again', async () => {
    const own = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK] });
    const b = browser();
    await b.signIn();
    const start = (params: Record<string, string | undefined>) => b.navigate({ url: authorizeQuery({ client_id: own, ...params }) });

    const first = await start({ scope: 'mcp:read' });
    assert.equal(first.response.statusCode, 200, 'asked the first time');
    assert.ok(callbackQuery(await decide(b, hiddenInputs(first.response.body), 'approve')).code);

    const again = await start({ scope: 'mcp:read', state: 'silent' });
    assert.ok(again.external, 'approved without a page');
    assert.equal(again.external.searchParams.get('state'), 'silent');
    assert.equal(again.external.searchParams.get('iss'), t.config.publicUrl);
    assert.match(again.external.searchParams.get('code')!, /^gth_ac_/);

    const grown = await start({ scope: 'mcp:read mcp:write' });
    assert.equal(grown.response.statusCode, 200, 'asked again for more scope');
    assert.ok(callbackQuery(await decide(b, hiddenInputs(grown.response.body), 'approve')).code);
    const consent = await t.runtime.store.consents.find((await t.runtime.users.list())[0]!.id, own, gatewayResource(t.config.publicUrl));
    assert.equal(consent?.scope, 'mcp:read mcp:write');

    assert.ok((await start({ scope: 'mcp:write' })).external, 'a subset of the remembered scopes is covered');
    const prompted = await start({ scope: 'mcp:read', prompt: 'consent' });
    assert.equal(prompted.response.statusCode, 200, 'prompt=consent asks again');

    // Straight after the sign-in form the page is shown even so: a browser would block the redirect to the app.
    const afterSignIn = await b.request({ url: authorizeQuery({ client_id: own, scope: 'mcp:read' }) });
    const page = await b.request({ url: `${afterSignIn.headers.location as string}&signed_in=1` });
    assert.equal(page.statusCode, 200);
    assert.ok(hiddenInputs(page.body).csrf_token);
  });

  it('a denied request is not remembered', async () => {
    const own = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK] });
    const b = browser();
    await b.signIn();
    const first = await b.navigate({ url: authorizeQuery({ client_id: own }) });
    callbackQuery(await decide(b, hiddenInputs(first.response.body), 'deny'));
    const again = await b.navigate({ url: authorizeQuery({ client_id: own }) });
    assert.equal(again.response.statusCode, 200, 'asked again');
  });

  it('prompt=none never shows a page: login_required when signed out, consent_required without consent, a code with it', async () => {
    const own = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK] });
    const silent = (b: Browserless) => b.navigate({ url: authorizeQuery({ client_id: own, redirect_uri: CALLBACK, prompt: 'none', state: 'st' }) });
    const params = (result: { external?: URL }) => Object.fromEntries(result.external!.searchParams);

    const signedOut = browser();
    const noLogin = params(await silent(signedOut));
    assert.deepEqual([noLogin.error, noLogin.state, noLogin.iss], ['login_required', 'st', t.config.publicUrl]);

    const b = browser();
    await b.signIn();
    const noConsent = params(await silent(b));
    assert.deepEqual([noConsent.error, noConsent.state, noConsent.iss], ['consent_required', 'st', t.config.publicUrl]);

    const first = await b.navigate({ url: authorizeQuery({ client_id: own, redirect_uri: CALLBACK }) });
    callbackQuery(await decide(b, hiddenInputs(first.response.body), 'approve'));
    const granted = params(await silent(b));
    assert.equal(granted.error, undefined);
    assert.match(granted.code!, /^gth_ac_/);
  });
});
