import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { seal } from '../../src/crypto/aead.js';
import { newId } from '../../src/crypto/random.js';
import type { UserRecord } from '../../src/store/index.js';
import { FlowRefused } from '../../src/upstream/oauth/types.js';
import { PAGE_SECURITY_HEADERS } from '../../src/web/page.js';
import type { OAuthUpstream } from '../fixtures/oauth-upstreams/protected-mcp.js';
import { startSdkAuthUpstream } from '../fixtures/oauth-upstreams/sdk-auth-upstream.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Browserless, hiddenInputs } from '../helpers/browserless.js';

const AUTHORIZE_URL = 'https://upstream.example/authorize?client_id=gatehouse&state=abc';
const ISSUER = 'https://upstream.example';

/** A per-user upstream record, as the admin API stores one. */
async function storePerUserUpstream(t: TestApp, name: string, url: string): Promise<string> {
  const id = newId('ups');
  const settings = { name, connection_type: 'http', connection_string: url, auth_type: 'per_user_oauth', timeout_ms: 5000, oauth_config: { send_resource: true } };
  await t.runtime.store.upstreams.create({ id, name, source: 'api', config: JSON.stringify(settings), sealedSecrets: null, createdAt: Date.now(), updatedAt: Date.now() });
  return id;
}

const decodeEntities = (text: string) => text.replaceAll('&amp;', '&');

/** Asserts a page (never JSON, never a stack trace) with the status, the security headers and the text. */
function assertPage(res: LightMyRequestResponse, status: number, text: RegExp): void {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  for (const [name, value] of Object.entries(PAGE_SECURITY_HEADERS)) assert.equal(res.headers[name], value, name);
  assert.match(res.body, text);
  assert.doesNotMatch(res.body, /\n\s+at /, 'no stack trace');
}

describe('upstream OAuth callback and connect links', () => {
  let t: TestApp;
  let alice: UserRecord;
  let bob: UserRecord;
  let aliceBrowser: Browserless;
  let bobBrowser: Browserless;
  let upstreamId: string;

  before(async () => {
    t = await startTestApp();
    alice = await t.runtime.users.create({ username: 'alice', password: 'alice-password' });
    bob = await t.runtime.users.create({ username: 'bob', password: 'bob-password' });
    aliceBrowser = new Browserless(t.app, new URL(t.config.publicUrl).origin);
    bobBrowser = new Browserless(t.app, new URL(t.config.publicUrl).origin);
    assert.equal((await aliceBrowser.signIn('alice', 'alice-password')).statusCode, 303);
    assert.equal((await bobBrowser.signIn('bob', 'bob-password')).statusCode, 303);
    upstreamId = await storePerUserUpstream(t, 'docs', 'http://127.0.0.1:9/mcp');
  });
  after(() => t.close());

  const anonymous = () => new Browserless(t.app, new URL(t.config.publicUrl).origin);

  /**
   * A pending flow written to the store as startFlow writes one. The user checks of the callback and of the link
   * come before anything else is read, so these flows need no discovered upstream behind them.
   */
  async function pendingFlow(options: { userId: string | null; purpose: 'shared' | 'per_user'; expiresAt?: number; then?: string }): Promise<{ id: string; state: string }> {
    const id = newId('uaf');
    const state = randomBytes(16).toString('base64url');
    const secrets = { codeVerifier: randomBytes(32).toString('base64url'), authorizeUrl: AUTHORIZE_URL, issuer: ISSUER, ...(options.then ? { then: options.then } : {}) };
    await t.runtime.store.upstreamOAuthFlows.create({
      id,
      stateHash: t.runtime.keys.tokenHasher.hash(state),
      upstreamId,
      userId: options.userId,
      purpose: options.purpose,
      sealed: seal(t.runtime.keys.encryptionKey, JSON.stringify(secrets), `upstream-oauth-flow:${id}`),
      createdAt: Date.now(),
      expiresAt: options.expiresAt ?? Date.now() + 600_000,
    });
    return { id, state };
  }

  describe('GET /api/oauth/callback', () => {
    it('an unknown or missing state is a 400 page, not the admin API', async () => {
      assertPage(await anonymous().request({ url: '/api/oauth/callback?state=never-issued&code=x' }), 400, /Authorization not found/);
      assertPage(await anonymous().request({ url: '/api/oauth/callback' }), 400, /unknown, expired or already completed/);
    });

    it('refuses a repeated parameter before the flow is looked up, so the flow stays usable', async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      assertPage(await aliceBrowser.request({ url: `/api/oauth/callback?state=${flow.state}&state=${flow.state}&code=x` }), 400, /repeated a parameter/);
      assertPage(await aliceBrowser.request({ url: `/api/oauth/callback?state=${flow.state}&code=x&code=y` }), 400, /repeated a parameter/);
      assert.ok(await t.runtime.store.upstreamOAuthFlows.find(flow.id, Date.now()), 'not consumed');
    });

    it('a per-user flow coming back to a browser without a session asks to sign in (401)', async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      const res = await anonymous().request({ url: `/api/oauth/callback?state=${flow.state}&code=x` });
      assertPage(res, 401, /Sign in to Gatehouse as the user who started this connection/);
      assert.match(res.body, /<a href="\/login\?next=%2Faccount%2Fapps">Sign in to Gatehouse<\/a>/);
    });

    it("a per-user flow coming back to another user's browser is refused (403) and stores nothing", async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      assertPage(await bobBrowser.request({ url: `/api/oauth/callback?state=${flow.state}&code=x` }), 403, /started for another Gatehouse user/);
      assert.equal((await t.runtime.outbound.vault.status(upstreamId, bob.id)).state, 'none');
      assert.equal((await t.runtime.outbound.vault.status(upstreamId, alice.id)).state, 'none');
    });

    it("a chained flow is sent on to its next step only in its own user's browser", async () => {
      const then = '/oauth/consent/resume?flow_id=flow_x&approval=a';
      const foreign = await pendingFlow({ userId: alice.id, purpose: 'per_user', then });
      assertPage(await bobBrowser.request({ url: `/api/oauth/callback?state=${foreign.state}&code=x` }), 403, /started for another Gatehouse user/);
      // Here the upstream's setup is gone (no discovery stored): a refusal, but the chain goes on.
      const own = await pendingFlow({ userId: alice.id, purpose: 'per_user', then });
      const res = await aliceBrowser.request({ url: `/api/oauth/callback?state=${own.state}&code=x` });
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, then);
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('hands the callback URL to the orchestrator rebuilt on the public URL, whatever the Host header says', async () => {
      const seen: string[] = [];
      const original = t.runtime.outbound.completeCallback;
      t.runtime.outbound.completeCallback = async (url) => {
        seen.push(url.href);
        throw new FlowRefused('unknown_flow', 'stubbed');
      };
      try {
        await anonymous().request({ url: '/api/oauth/callback?code=c%2Bd&state=s&iss=https%3A%2F%2Fas.example', headers: { host: 'evil.example' } });
      } finally {
        t.runtime.outbound.completeCallback = original;
      }
      assert.deepEqual(seen, [`${t.config.publicUrl}/api/oauth/callback?code=c%2Bd&state=s&iss=https%3A%2F%2Fas.example`]);
    });
  });

  describe('GET /connect/:flowId', () => {
    it('sends a visitor without a session to sign in and come back to the link', async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      const res = await anonymous().request({ url: `/connect/${flow.id}` });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/login?next=${encodeURIComponent(`/connect/${flow.id}?confirm=1`)}`);
    });

    it('after a form (sign-in, the Connect button) shows a link to the upstream instead of redirecting there', async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      const res = await aliceBrowser.request({ url: `/connect/${flow.id}?confirm=1` });
      assertPage(res, 200, /<h1>Connect docs<\/h1>/);
      assert.ok(res.body.includes(`<a href="${AUTHORIZE_URL.replaceAll('&', '&amp;')}">Continue to upstream.example</a>`), res.body);
      assertPage(await bobBrowser.request({ url: `/connect/${flow.id}?confirm=1` }), 403, /issued for another Gatehouse user/);
    });

    it('sends the user it was issued for to the upstream, uncached', async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      const res = await aliceBrowser.request({ url: `/connect/${flow.id}` });
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, AUTHORIZE_URL);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
    });

    it('refuses another signed-in user (403)', async () => {
      const flow = await pendingFlow({ userId: alice.id, purpose: 'per_user' });
      const res = await bobBrowser.request({ url: `/connect/${flow.id}` });
      assertPage(res, 403, /issued for another Gatehouse user/);
      assert.ok(!res.body.includes('upstream.example'), 'the authorization URL is not revealed');
    });

    it('an expired, used or unknown link is gone (410)', async () => {
      const expired = await pendingFlow({ userId: alice.id, purpose: 'per_user', expiresAt: Date.now() - 1 });
      assertPage(await aliceBrowser.request({ url: `/connect/${expired.id}` }), 410, /expired or was already used\. Call the tool again/);
      assertPage(await aliceBrowser.request({ url: '/connect/uaf_unknown' }), 410, /Link expired/);
    });
  });
});

describe('a per-user connection through an upstream behind the MCP SDK auth router', () => {
  let t: TestApp;
  let upstream: OAuthUpstream;
  let upstreamId: string;
  let alice: UserRecord;

  before(async () => {
    upstream = await startSdkAuthUpstream();
    t = await startTestApp({ flags: { allowPrivateNetworks: true } });
    alice = await t.runtime.users.create({ username: 'alice', password: 'alice-password' });
    upstreamId = await storePerUserUpstream(t, 'docs', upstream.mcpUrl);
  });
  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('connect button, connect link, the upstream, the callback page; the callback works once', async () => {
    const browser = new Browserless(t.app, new URL(t.config.publicUrl).origin);
    await browser.signIn('alice', 'alice-password');
    const form = hiddenInputs((await browser.request({ url: '/account/apps' })).body);
    const started = await browser.request({ method: 'POST', url: '/account/upstreams/connect', form: { upstream_id: upstreamId, csrf_token: form.csrf_token! } });
    assert.equal(started.statusCode, 303, started.body);
    const link = String(started.headers.location);
    assert.match(link, /^\/connect\/uaf_[\w-]+\?confirm=1$/);

    const toUpstream = await browser.request({ url: link });
    assert.equal(toUpstream.statusCode, 200);
    const authorizeUrl = decodeEntities(/<a href="([^"]+)">Continue to /.exec(toUpstream.body)?.[1] ?? '');
    assert.ok(authorizeUrl.startsWith(upstream.issuer), authorizeUrl);

    const callback = new URL(await upstream.authorizeHeadlessly(authorizeUrl, { login: 'alice-at-upstream' }));
    assert.equal(`${callback.origin}${callback.pathname}`, `${t.config.publicUrl}/api/oauth/callback`);
    const landed = await browser.request({ url: callback.pathname + callback.search });
    assertPage(landed, 200, /<h1>docs is connected<\/h1>/);
    assert.match(landed.body, /with your own account/);
    assert.match(landed.body, /<a href="\/account\/apps">/);
    assert.equal((await t.runtime.outbound.vault.status(upstreamId, alice.id)).state, 'active');
    assert.match((await browser.request({ url: '/account/apps' })).body, /<h3>docs<\/h3>\n<p><strong>Connected\.<\/strong><\/p>/);

    assertPage(await browser.request({ url: callback.pathname + callback.search }), 400, /already completed/);
  });

  it("shows the upstream's refusal when the user denies access there", async () => {
    const browser = new Browserless(t.app, new URL(t.config.publicUrl).origin);
    await browser.signIn('alice', 'alice-password');
    const { flowId } = await t.runtime.outbound.startFlow(upstreamId, 'per_user', alice.id);
    const authorizeUrl = String((await browser.request({ url: `/connect/${flowId}` })).headers.location);
    const state = new URL(authorizeUrl).searchParams.get('state')!;
    const denied = new URLSearchParams({ error: 'access_denied', error_description: 'The user said no', state });
    const res = await browser.request({ url: `/api/oauth/callback?${denied.toString()}` });
    assertPage(res, 400, /<h1>The upstream did not authorize Gatehouse<\/h1>/);
    assert.match(res.body, /access_denied/);
    assert.match(res.body, /The user said no/);
    assert.equal((await t.runtime.outbound.vault.status(upstreamId, alice.id)).state, 'active', 'the earlier connection is untouched');
  });
});
