import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../../src/crypto/random.js';
import type { UserRecord } from '../../src/store/index.js';
import type { OAuthUpstream } from '../fixtures/oauth-upstreams/protected-mcp.js';
import { startSdkAuthUpstream } from '../fixtures/oauth-upstreams/sdk-auth-upstream.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { authorizeQuery, Browserless, hiddenInputs, pkcePair, registerTestClient } from '../helpers/browserless.js';

const CALLBACK = 'https://app.example/callback';

const decodeEntities = (text: string) => text.replaceAll('&amp;', '&');

/** The target of the link labelled `label` on a page. */
function linkTo(res: LightMyRequestResponse, label: string): string {
  const href = new RegExp(`<a href="([^"]+)">${label}`).exec(res.body)?.[1];
  assert.ok(href, `no "${label}" link in ${res.body}`);
  return decodeEntities(href);
}

describe('chained authorization: connecting per-user upstreams at consent', () => {
  let t: TestApp;
  let upstream: OAuthUpstream;
  let clientId: string;
  let docsId: string;
  let adminOnlyId: string;
  let sharedId: string;
  let unreachableId: string;
  const users: Record<string, UserRecord> = {};

  async function storeUpstream(name: string, url: string, extra: Record<string, unknown> = {}): Promise<string> {
    const id = newId('ups');
    const settings = { name, connection_type: 'http', connection_string: url, auth_type: 'per_user_oauth', timeout_ms: 5000, ...extra };
    await t.runtime.store.upstreams.create({ id, name, source: 'api', config: JSON.stringify(settings), sealedSecrets: null, createdAt: Date.now(), updatedAt: Date.now() });
    return id;
  }

  before(async () => {
    upstream = await startSdkAuthUpstream();
    t = await startTestApp({ flags: { allowPrivateNetworks: true } });
    for (const name of ['alice', 'bob', 'carol', 'dave']) users[name] = await t.runtime.users.create({ username: name, password: `${name}-password` });
    clientId = await registerTestClient(t.runtime, { redirect_uris: [CALLBACK], client_name: 'Chain App' });
    docsId = await storeUpstream('docs', upstream.mcpUrl);
    adminOnlyId = await storeUpstream('payroll', 'https://payroll.example/mcp', { allowed_users: ['admin'] });
    sharedId = await storeUpstream('wiki', 'https://wiki.example/mcp', { auth_type: 'oauth' });
    unreachableId = await storeUpstream('tickets', 'http://127.0.0.1:9/mcp');
  });
  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** Signs `name` in and opens the consent page of a new authorization (prompt=consent: asked every time); returns its PKCE verifier too. */
  async function consentAs(name: string, state = `${name}-state`) {
    const browser = new Browserless(t.app, new URL(t.config.publicUrl).origin);
    assert.equal((await browser.signIn(name, `${name}-password`)).statusCode, 303);
    const { verifier, challenge } = pkcePair();
    const { response } = await browser.navigate({ url: authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, state, code_challenge: challenge, prompt: 'consent' }) });
    assert.equal(response.statusCode, 200, response.body);
    return { browser, page: response, fields: hiddenInputs(response.body), verifier };
  }

  function approve(browser: Browserless, fields: Record<string, string>, connect: string[] = []) {
    const form = new URLSearchParams({ ...fields, decision: 'approve' });
    for (const id of connect) form.append('connect_upstream', id);
    return browser.app
      .inject({ method: 'POST', url: '/oauth/consent', payload: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, cookies: Object.fromEntries(browser.cookies) })
      .then((res) => {
        for (const cookie of res.cookies as { name: string; value: string }[]) {
          if (cookie.value === '') browser.cookies.delete(cookie.name);
          else browser.cookies.set(cookie.name, cookie.value);
        }
        return res;
      });
  }

  /** The client's redirect: code, state and iss, as the approve without a chain would give them. */
  function clientRedirect(res: LightMyRequestResponse, state: string): string {
    assert.equal(res.statusCode, 303, res.body);
    const location = new URL(String(res.headers.location));
    assert.equal(`${location.origin}${location.pathname}`, CALLBACK);
    assert.equal(location.searchParams.get('state'), state);
    assert.equal(location.searchParams.get('iss'), t.config.publicUrl);
    return location.searchParams.get('code') ?? assert.fail('no code');
  }

  async function redeem(code: string, verifier: string) {
    return t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, client_id: clientId, code_verifier: verifier }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  const flowCompleted = async (flowId: string) => (await t.runtime.store.flows.find(flowId))?.completedAt !== null;

  it('offers an unchecked checkbox for each per-user upstream the user may use and has not connected; without one checked, Allow answers at once', async () => {
    const { browser, page, fields } = await consentAs('alice');
    assert.match(page.body, /<legend>Also connect your accounts now<\/legend>/);
    const host = new URL(upstream.mcpUrl).host;
    assert.ok(page.body.includes(`<label><input type="checkbox" name="connect_upstream" value="${docsId}"> docs <span class="host">(${host})</span></label>`), page.body);
    assert.ok(!page.body.includes(adminOnlyId), 'an upstream the user may not use is not offered');
    assert.ok(!page.body.includes(sharedId), 'a shared upstream is not offered');
    assert.doesNotMatch(page.body, /checked/);
    assert.match(clientRedirect(await approve(browser, fields), 'alice-state'), /^gth_ac_/);
  });

  it('a chain of one upstream ends at the client with a working code, and the connection is active', async () => {
    const { browser, fields, verifier } = await consentAs('bob');
    const step = await approve(browser, fields, [docsId]);
    assert.equal(step.statusCode, 200, step.body);
    assert.match(step.body, /<h1>Connect docs<\/h1>/);
    assert.equal(await flowCompleted(fields.flow_id!), false, 'approved, but no code yet');
    assert.equal((await t.runtime.store.grants.list({ userId: users.bob!.id })).length, 0);

    const callback = new URL(await upstream.authorizeHeadlessly(linkTo(step, 'Continue to '), { login: 'bob-at-upstream' }));
    const back = await browser.request({ url: callback.pathname + callback.search });
    assert.equal(back.statusCode, 302, back.body);
    const resume = String(back.headers.location);
    assert.match(resume, /^\/oauth\/consent\/resume\?flow_id=flow_[\w-]+&approval=[^&]+$/);
    assert.equal((await t.runtime.outbound.vault.status(docsId, users.bob!.id)).state, 'active');

    const code = clientRedirect(await browser.request({ url: resume }), 'bob-state');
    const tokens = await redeem(code, verifier);
    assert.equal(tokens.statusCode, 200, tokens.body);
    assert.match(tokens.json<{ access_token: string }>().access_token, /\S/);
    assert.ok(![...browser.cookies.keys()].some((name) => name.includes('gatehouse_flow_')), 'the flow cookie is cleared');

    // Connected now: the next consent page no longer offers it.
    assert.ok(!(await consentAs('bob', 'again')).page.body.includes(docsId));
  });

  it('a denial at the upstream does not fail the authorization: the client still gets its code', async () => {
    const { browser, fields, verifier } = await consentAs('carol');
    const step = await approve(browser, fields, [docsId]);
    const state = new URL(linkTo(step, 'Continue to ')).searchParams.get('state')!;
    const denied = new URLSearchParams({ error: 'access_denied', error_description: 'no thanks', state });
    const back = await browser.request({ url: `/api/oauth/callback?${denied.toString()}` });
    assert.equal(back.statusCode, 302, back.body);
    const code = clientRedirect(await browser.request({ url: String(back.headers.location) }), 'carol-state');
    assert.equal((await redeem(code, verifier)).statusCode, 200);
    assert.equal((await t.runtime.outbound.vault.status(docsId, users.carol!.id)).state, 'none');
  });

  it('skipping an upstream goes on to the next, and one that cannot be reached is passed over: the client gets its code', async () => {
    const { browser, fields } = await consentAs('dave');
    const step = await approve(browser, fields, [docsId, unreachableId]);
    assert.match(step.body, /<h1>Connect docs<\/h1>/);
    const skip = linkTo(step, 'Skip this one');
    assert.ok(skip.endsWith(`&connect=${unreachableId}`), skip);
    assert.match(clientRedirect(await browser.request({ url: skip }), 'dave-state'), /^gth_ac_/);
  });

  it('an upstream the user may not use, a shared one or an unknown id is refused (400) and the flow stays usable', async () => {
    const { browser, fields } = await consentAs('alice');
    for (const foreign of [[adminOnlyId], [sharedId], ['ups_unknown'], [docsId, adminOnlyId]]) {
      const res = await approve(browser, fields, foreign);
      assert.equal(res.statusCode, 400, foreign.join());
      assert.match(res.body, /named a server you cannot connect/);
    }
    assert.equal(await flowCompleted(fields.flow_id!), false);
    assert.match(clientRedirect(await approve(browser, fields), 'alice-state'), /^gth_ac_/);
  });

  it('resume is refused without an approval, under another signed-in user, and a second time', async () => {
    const plain = await consentAs('alice');
    const forged = await plain.browser.request({ url: `/oauth/consent/resume?flow_id=${plain.fields.flow_id}&approval=p1.forged` });
    assert.equal(forged.statusCode, 403);
    assert.equal((await plain.browser.request({ url: `/oauth/consent/resume?flow_id=${plain.fields.flow_id}` })).statusCode, 400);
    assert.equal(await flowCompleted(plain.fields.flow_id!), false);

    const { browser, fields } = await consentAs('alice', 'chained');
    const skip = linkTo(await approve(browser, fields, [docsId]), 'Skip this one');
    // The same browser (flow cookie and all), now signed in as someone else.
    assert.equal((await browser.signIn('bob', 'bob-password')).statusCode, 303);
    assert.equal((await browser.request({ url: skip })).statusCode, 403);
    assert.equal(await flowCompleted(fields.flow_id!), false);

    assert.equal((await browser.signIn('alice', 'alice-password')).statusCode, 303);
    const flowCookies = new Map(browser.cookies);
    clientRedirect(await browser.request({ url: skip }), 'chained');
    for (const [name, value] of flowCookies) browser.cookies.set(name, value);
    const replay = await browser.request({ url: skip });
    assert.equal(replay.statusCode, 400);
    assert.match(replay.body, /expired or was already used/);
  });
});
