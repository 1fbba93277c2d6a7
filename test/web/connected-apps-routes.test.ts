import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/crypto/random.js';
import type { UserRecord } from '../../src/store/index.js';
import { PAGE_SECURITY_HEADERS } from '../../src/web/page.js';
import { signInCookies, startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { storeClient, storeGrant } from '../helpers/grant-fixtures.js';

type Cookies = Record<string, string>;

function csrfOf(page: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(page);
  assert.ok(match, 'the page carries a CSRF token');
  return match[1]!;
}

for (const backend of backends) {
  describe(`connected apps page on ${backend}`, () => {
    let t: TestApp;
    let alice: UserRecord;
    let bob: UserRecord;
    let aliceCookies: Cookies;
    let bobCookies: Cookies;
    before(async () => {
      t = await startTestApp({ backend });
      alice = await t.runtime.users.create({ username: 'alice', password: 'alice-password' });
      bob = await t.runtime.users.create({ username: 'bob', password: 'bob-password' });
      aliceCookies = await signInCookies(t, 'alice', 'alice-password');
      bobCookies = await signInCookies(t, 'bob', 'bob-password');
    });
    after(() => t.close());

    const page = (cookies: Cookies, url = '/account/apps') => t.app.inject({ method: 'GET', url, cookies });
    const revoke = (cookies: Cookies, fields: Record<string, string> | string, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'POST',
        url: '/account/apps/revoke',
        cookies,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
      });
    const isRevoked = async (id: string) => (await t.runtime.store.grants.find(id))?.revokedAt !== null;

    it('sends a visitor without a session to sign in, and back here afterwards', async () => {
      const res = await page({});
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/login?next=%2Faccount%2Fapps');
    });

    it('the signed-in home page links to it', async () => {
      const home = await page(aliceCookies, '/');
      assert.match(home.body, /<a href="\/account\/apps">Connected apps<\/a>/);
    });

    it("lists the person's live grants by client, naming unverified clients as such, scopes in plain words", async () => {
      const editor = await storeClient(t.runtime, { name: 'Code <Editor>' });
      const hosted = await storeClient(t.runtime, { kind: 'metadata_document', name: 'Hosted App' });
      const first = await storeGrant(t.runtime, alice.id, editor, { scope: 'mcp:read', createdAt: Date.UTC(2026, 0, 2, 3, 4) });
      const second = await storeGrant(t.runtime, alice.id, editor, { lastUsedAt: Date.UTC(2026, 1, 3, 4, 5) });
      const viaDocument = await storeGrant(t.runtime, alice.id, hosted);
      const revoked = await storeGrant(t.runtime, alice.id, editor, { revokedAt: Date.now(), revokedReason: 'test' });
      const bobs = await storeGrant(t.runtime, bob.id, editor);

      const res = await page(aliceCookies);
      assert.equal(res.statusCode, 200);
      for (const [name, value] of Object.entries(PAGE_SECURITY_HEADERS)) assert.equal(res.headers[name], value, name);
      assert.equal((res.body.match(/<h2>Code &lt;Editor&gt;<\/h2>/g) ?? []).length, 1, 'one section per client, its name escaped');
      assert.ok(!res.body.includes('<Editor>'));
      assert.match(res.body, /<h2>Code &lt;Editor&gt;<\/h2>\n<p class="notice" role="note"><strong>Unverified application\.<\/strong>/);
      assert.match(res.body, new RegExp(`<h2>Hosted App</h2>\\n<p>Verified domain: <strong>${new URL(hosted).host}</strong>`));
      for (const grant of [first, second, viaDocument]) assert.ok(res.body.includes(`name="grant_id" value="${grant.id}"`), grant.id);
      for (const grant of [revoked, bobs]) assert.ok(!res.body.includes(grant.id), 'revoked grants and other people\'s are not listed');
      assert.match(res.body, /See the tools, resources and prompts available to you, and use read-only tools/);
      assert.match(res.body, /Use tools that can change things on your behalf/);
      assert.match(res.body, /Authorized <time datetime="2026-01-02T03:04:00.000Z">2026-01-02 03:04 UTC<\/time>/);
      assert.match(res.body, /Last used <time datetime="2026-02-03T04:05:00.000Z">/);
      assert.match(res.body, /Not used yet\./);
      assert.match(res.body, /<form method="post" action="\/account\/apps\/revoke">/);
      assert.match(res.body, /<button type="submit" class="secondary">Revoke access<\/button>/);
    });

    it('revokes a grant with the form and its CSRF token, then shows it gone', async () => {
      const client = await storeClient(t.runtime, { name: 'Revocable' });
      const grant = await storeGrant(t.runtime, alice.id, client);
      const csrf = csrfOf((await page(aliceCookies)).body);
      const res = await revoke(aliceCookies, { grant_id: grant.id, csrf_token: csrf }, { origin: new URL(t.config.publicUrl).origin });
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, '/account/apps?revoked=1');
      const stored = await t.runtime.store.grants.find(grant.id);
      assert.ok(stored?.revokedAt);
      assert.equal(stored.revokedReason, 'revoked by its user');
      const after = await page(aliceCookies, res.headers.location);
      assert.match(after.body, /Access revoked\./);
      assert.ok(!after.body.includes(grant.id));
      const audit = await t.runtime.store.audit.list({ kind: 'grant.revoked', limit: 50 });
      assert.ok(audit.some((event) => event.grantId === grant.id && event.userId === alice.id));
    });

    it("revoking forgets the person's remembered consent for that app, not other people's", async () => {
      const client = await storeClient(t.runtime, { name: 'Remembered' });
      const resource = `${t.config.publicUrl}/mcp`;
      for (const user of [alice, bob]) await t.runtime.store.consents.save({ userId: user.id, clientId: client, resource, scope: 'mcp:read', grantedAt: Date.now() });
      const grant = await storeGrant(t.runtime, alice.id, client);
      const res = await revoke(aliceCookies, { grant_id: grant.id, csrf_token: csrfOf((await page(aliceCookies)).body) });
      assert.equal(res.statusCode, 303);
      assert.equal(await t.runtime.store.consents.find(alice.id, client, resource), undefined, 'the app must ask alice again');
      assert.ok(await t.runtime.store.consents.find(bob.id, client, resource), "bob's consent is his own");
    });

    it('refuses a revocation without a CSRF token, with a wrong one, or with the token of another session', async () => {
      const grant = await storeGrant(t.runtime, alice.id, await storeClient(t.runtime));
      const bobsToken = csrfOf((await page(bobCookies)).body);
      const otherAliceSession = await signInCookies(t, 'alice', 'alice-password');
      const otherSessionToken = csrfOf((await page(otherAliceSession)).body);
      const attempts: Record<string, string>[] = [{ grant_id: grant.id }, { grant_id: grant.id, csrf_token: 'x' }, { grant_id: grant.id, csrf_token: bobsToken }, { grant_id: grant.id, csrf_token: otherSessionToken }];
      for (const fields of attempts) {
        const res = await revoke(aliceCookies, fields);
        assert.equal(res.statusCode, 403, JSON.stringify(fields));
        assert.equal(res.headers['x-frame-options'], 'DENY');
      }
      assert.equal(await isRevoked(grant.id), false);
    });

    it("another person's grant id is a 404 and stays live", async () => {
      const bobs = await storeGrant(t.runtime, bob.id, await storeClient(t.runtime));
      const res = await revoke(aliceCookies, { grant_id: bobs.id, csrf_token: csrfOf((await page(aliceCookies)).body) });
      assert.equal(res.statusCode, 404);
      assert.match(res.body, /not found among your connected apps/);
      assert.equal(await isRevoked(bobs.id), false);
      const unknown = await revoke(aliceCookies, { grant_id: 'grt_unknown', csrf_token: csrfOf((await page(aliceCookies)).body) });
      assert.equal(unknown.statusCode, 404);
    });

    it('refuses a revocation posted from another site, even with a valid token', async () => {
      const grant = await storeGrant(t.runtime, alice.id, await storeClient(t.runtime));
      const csrf = csrfOf((await page(aliceCookies)).body);
      assert.equal((await revoke(aliceCookies, { grant_id: grant.id, csrf_token: csrf }, { origin: 'https://evil.example' })).statusCode, 403);
      assert.equal((await revoke(aliceCookies, { grant_id: grant.id, csrf_token: csrf }, { 'sec-fetch-site': 'cross-site' })).statusCode, 403);
      assert.equal(await isRevoked(grant.id), false);
    });

    it('a revocation without a session is sent to sign in and revokes nothing', async () => {
      const grant = await storeGrant(t.runtime, alice.id, await storeClient(t.runtime));
      const res = await revoke({}, { grant_id: grant.id, csrf_token: csrfOf((await page(aliceCookies)).body) });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/login?next=%2Faccount%2Fapps');
      assert.equal(await isRevoked(grant.id), false);
    });

    it('refuses a repeated grant_id rather than picking one', async () => {
      const one = await storeGrant(t.runtime, alice.id, await storeClient(t.runtime));
      const two = await storeGrant(t.runtime, alice.id, await storeClient(t.runtime));
      const csrf = csrfOf((await page(aliceCookies)).body);
      const res = await revoke(aliceCookies, `grant_id=${one.id}&grant_id=${two.id}&csrf_token=${csrf}`);
      assert.equal(res.statusCode, 400);
      assert.equal(await isRevoked(one.id), false);
      assert.equal(await isRevoked(two.id), false);
    });
  });
}

describe('upstream connections on the connected apps page', () => {
  let t: TestApp;
  let alice: UserRecord;
  let aliceCookies: Cookies;
  before(async () => {
    t = await startTestApp();
    alice = await t.runtime.users.create({ username: 'alice', password: 'alice-password' });
    await t.runtime.users.create({ username: 'bob', password: 'bob-password' });
    aliceCookies = await signInCookies(t, 'alice', 'alice-password');
  });
  after(() => t.close());

  /** An upstream record as the admin API stores one; the port is closed, so nothing is reached. */
  async function storeUpstream(name: string, settings: { auth_type?: string; allowed_users?: string[] } = {}): Promise<string> {
    const id = newId('ups');
    const config = { name, connection_type: 'http', connection_string: 'http://127.0.0.1:9/mcp', auth_type: 'per_user_oauth', timeout_ms: 1000, ...settings };
    await t.runtime.store.upstreams.create({ id, name, source: 'api', config: JSON.stringify(config), sealedSecrets: null, createdAt: Date.now(), updatedAt: Date.now() });
    return id;
  }
  const connectAlice = (upstreamId: string) =>
    t.runtime.outbound.vault.save(upstreamId, alice.id, 'https://as.example', { accessToken: 'upstream-access', tokenType: 'Bearer', refreshToken: 'upstream-refresh' });
  const page = () => t.app.inject({ method: 'GET', url: '/account/apps', cookies: aliceCookies });
  const post = (action: 'connect' | 'disconnect', fields: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/account/upstreams/${action}`,
      cookies: aliceCookies,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(fields).toString(),
    });
  const stateOf = async (upstreamId: string) => (await t.runtime.outbound.vault.status(upstreamId, alice.id)).state;

  it("lists the per-user upstreams the person may use, each in its state, and any they still hold tokens for", async () => {
    const connected = await storeUpstream('connected-one');
    const lapsed = await storeUpstream('lapsed-one');
    const fresh = await storeUpstream('fresh-one');
    const bobsOnly = await storeUpstream('bobs-only', { allowed_users: ['bob'] });
    const shared = await storeUpstream('shared-one', { auth_type: 'oauth' });
    const revokedAccess = await storeUpstream('was-allowed', { allowed_users: ['bob'] });
    await connectAlice(connected);
    await connectAlice(lapsed);
    await t.runtime.outbound.vault.markNeedsAuth(lapsed, alice.id, 'the upstream refused the refresh token');
    await connectAlice(revokedAccess);

    const res = await page();
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<h2>Upstream connections<\/h2>/);
    assert.match(res.body, /<h3>connected-one<\/h3>\n<p><strong>Connected\.<\/strong><\/p>/);
    assert.match(res.body, /<h3>lapsed-one<\/h3>\n<p class="alert" role="note"><strong>Needs reconnecting:<\/strong> the upstream refused the refresh token<\/p>/);
    assert.match(res.body, /<h3>fresh-one<\/h3>\n<p>Not connected\.<\/p>/);
    assert.match(res.body, /<h3>was-allowed<\/h3>\n<p>No longer available to you/);
    for (const hidden of ['bobs-only', 'shared-one']) assert.ok(!res.body.includes(hidden), `${hidden} is not listed`);
    assert.ok(!res.body.includes(bobsOnly) && !res.body.includes(shared));
    const forms = (id: string) => [...res.body.matchAll(new RegExp(`action="/account/upstreams/(\\w+)">\\n<input type="hidden" name="upstream_id" value="${id}">`, 'g'))].map((m) => m[1]);
    assert.deepEqual(forms(connected), ['connect', 'disconnect']);
    assert.deepEqual(forms(lapsed), ['connect', 'disconnect']);
    assert.deepEqual(forms(fresh), ['connect']);
    assert.deepEqual(forms(revokedAccess), ['disconnect']);
    assert.ok(!res.body.includes('upstream-access'), 'no token on the page');
  });

  it('disconnects with the form and its CSRF token, forgets the tokens, and says so', async () => {
    const upstreamId = await storeUpstream('to-disconnect');
    await connectAlice(upstreamId);
    const res = await post('disconnect', { upstream_id: upstreamId, csrf_token: csrfOf((await page()).body) }, { origin: new URL(t.config.publicUrl).origin });
    assert.equal(res.statusCode, 303, res.body);
    assert.equal(res.headers.location, '/account/apps?disconnected=1');
    assert.equal(await stateOf(upstreamId), 'none');
    const after = await t.app.inject({ method: 'GET', url: res.headers.location, cookies: aliceCookies });
    assert.match(after.body, /<p class="notice" role="status">Disconnected\.<\/p>/);
    assert.match(after.body, /<h3>to-disconnect<\/h3>\n<p>Not connected\.<\/p>/);
    const audit = await t.runtime.store.audit.list({ kind: 'upstream.disconnected', limit: 50 });
    assert.ok(audit.some((event) => event.userId === alice.id));
  });

  it('refuses a disconnection without a valid CSRF token or posted from another site, and keeps the tokens', async () => {
    const upstreamId = await storeUpstream('kept');
    await connectAlice(upstreamId);
    const csrf = csrfOf((await page()).body);
    assert.equal((await post('disconnect', { upstream_id: upstreamId })).statusCode, 403);
    assert.equal((await post('disconnect', { upstream_id: upstreamId, csrf_token: 'forged' })).statusCode, 403);
    assert.equal((await post('disconnect', { upstream_id: upstreamId, csrf_token: csrf }, { origin: 'https://evil.example' })).statusCode, 403);
    assert.equal((await post('disconnect', { upstream_id: upstreamId, csrf_token: csrf }, { 'sec-fetch-site': 'cross-site' })).statusCode, 403);
    assert.equal(await stateOf(upstreamId), 'active');
  });

  it('disconnecting what the person does not hold is a 404', async () => {
    const upstreamId = await storeUpstream('never-connected');
    const res = await post('disconnect', { upstream_id: upstreamId, csrf_token: csrfOf((await page()).body) });
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /not found among your upstream connections/);
  });

  it('refuses to connect an upstream the person may not use, or one without per-user connections, as if it did not exist', async () => {
    const csrf = csrfOf((await page()).body);
    for (const upstreamId of [await storeUpstream('for-bob', { allowed_users: ['bob'] }), await storeUpstream('admin-shared', { auth_type: 'oauth' }), 'ups_unknown']) {
      const res = await post('connect', { upstream_id: upstreamId, csrf_token: csrf });
      assert.equal(res.statusCode, 404, upstreamId);
      assert.match(res.body, /not found among your upstream connections/);
    }
  });

  it('refuses a connection without a valid CSRF token, or posted from another site', async () => {
    const upstreamId = await storeUpstream('csrf-connect');
    assert.equal((await post('connect', { upstream_id: upstreamId, csrf_token: 'forged' })).statusCode, 403);
    assert.equal((await post('connect', { upstream_id: upstreamId, csrf_token: csrfOf((await page()).body) }, { 'sec-fetch-site': 'cross-site' })).statusCode, 403);
    assert.equal((await post('connect', { upstream_id: upstreamId, csrf_token: csrfOf((await page()).body) }, { origin: 'https://evil.example' })).statusCode, 403);
  });

  it('an upstream that cannot be set up answers a 502 page saying what failed', async () => {
    const upstreamId = await storeUpstream('unreachable');
    const res = await post('connect', { upstream_id: upstreamId, csrf_token: csrfOf((await page()).body) });
    assert.equal(res.statusCode, 502, res.body);
    assert.match(res.body, /<h1>Could not connect unreachable<\/h1>/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });
});
