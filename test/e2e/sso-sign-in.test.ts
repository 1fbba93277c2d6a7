import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CompanyIdp } from '../fixtures/sso/company-idp.js';
import { basicAuth, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { browse, PROVIDER_ID, startAppWithCompanyIdp } from '../helpers/company-sign-in.js';
import { CookieJar, type Credentials } from '../helpers/headless-consent.js';
import { startHttpUpstream } from '../fixtures/upstreams/http-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectWithOAuth } from '../helpers/mcp-session.js';

const ADMIN = { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) };

describe('company sign-in against a real OpenID Provider', () => {
  let t: TestApp;
  let idp: CompanyIdp;
  let close: () => Promise<void>;

  before(async () => {
    ({ t, idp, close } = await startAppWithCompanyIdp({
      accounts: {
        'sub-alice': { preferred_username: 'alice', email: 'alice@acme.example', groups: ['staff', 'gatehouse-admins'] },
        'sub-bob': { preferred_username: 'bob', email: 'bob@acme.example', groups: ['contractors'] },
        'sub-carol': { preferred_username: 'carol', email: 'carol@acme.example', groups: ['staff'] },
        'sub-dave': { email: 'Dave@Acme.example', groups: ['staff'] },
        'sub-erin': { preferred_username: 'erin', groups: ['staff'] },
      },
      provider: { admin_groups: ['gatehouse-admins'], allowed_groups: ['staff'] },
      extraProviders: (issuer) => [
        { id: 'down', name: 'Down', issuer: 'http://127.0.0.1:1', client_id: 'x', client_secret: 'y' },
        { id: 'elsewhere', name: 'Elsewhere', issuer: `${issuer}/elsewhere`, client_id: 'x', client_secret: 'y' },
      ],
    }));
  });
  after(() => close());
  beforeEach(() => {
    idp.rewriteIdToken = undefined;
    idp.signWithForeignKey = false;
  });

  const users = async () => (await (await fetch(`${t.url}/api/users`, { headers: ADMIN })).json()).users as { id: string; username: string; is_admin: boolean; source: string; groups: string[] }[];
  type AuditEvent = { kind: string; user_id: string | null; ip: string | null; detail: Record<string, unknown> };
  const ssoEvents = async (kind: 'sso.signed_in' | 'sso.refused') =>
    (await (await fetch(`${t.url}/api/audit/events?kind=${kind}&limit=500`, { headers: ADMIN })).json()).events as AuditEvent[];
  /** Runs `action` and returns the one `kind` event it added to the audit. */
  async function auditedBy<T>(kind: 'sso.signed_in' | 'sso.refused', action: () => Promise<T>): Promise<{ result: T; event: AuditEvent }> {
    const before = (await ssoEvents(kind)).length;
    const result = await action();
    const events = await ssoEvents(kind);
    assert.equal(events.length, before + 1, `one ${kind} event`);
    return { result, event: events[0]! };
  }
  const signIn = (account: string, next?: string) => browse(`${t.url}/login/oidc/${PROVIDER_ID}${next ? `?next=${encodeURIComponent(next)}` : ''}`, { idp, account });

  it('the sign-in page offers the provider by name, carrying next', async () => {
    const page = await (await fetch(`${t.url}/login?next=${encodeURIComponent('/account/apps')}`)).text();
    assert.match(page, /<a class="button" href="\/login\/oidc\/acme\?next=%2Faccount%2Fapps">Sign in with Acme<\/a>/);
    assert.match(page, /type="password"/, 'password sign-in stays on by default');
  });

  it('a new person is created just in time, keyed by issuer and sub, with the IdP groups, and lands on next', async () => {
    const { result: page, event } = await auditedBy('sso.signed_in', () => signIn('sub-alice', '/account/apps'));
    assert.equal(page.url.href, `${t.url}/account/apps`);
    assert.equal(page.status, 200);
    const alice = (await users()).find((user) => user.username === 'alice')!;
    assert.deepEqual([alice.source, alice.groups, alice.is_admin], ['sso:acme', ['staff', 'gatehouse-admins'], true]);
    const stored = (await t.runtime.store.users.findByExternalIdentity(idp.issuer, 'sub-alice'))!;
    assert.equal(stored.id, alice.id);
    assert.equal(event.user_id, alice.id);
    assert.ok(event.ip);
    assert.deepEqual(event.detail, { provider: PROVIDER_ID, issuer: idp.issuer, subject: 'sub-alice', groups: ['staff', 'gatehouse-admins'], is_admin: true });
  });

  it('an SSO account cannot sign in with a password', async () => {
    const outcome = await t.runtime.login.attempt('alice', 'any-password-at-all', '192.0.2.9');
    assert.equal(outcome.ok, false);
  });

  it('admin by group is taken away at the next sign-in when the IdP drops the group, on the same account', async () => {
    idp.accounts.set('sub-alice', { preferred_username: 'alice', groups: ['staff'] });
    const before = (await users()).length;
    await signIn('sub-alice');
    const alice = (await users()).find((user) => user.username === 'alice')!;
    assert.deepEqual([alice.is_admin, alice.groups], [false, ['staff']]);
    assert.equal((await users()).length, before, 'no second account');
  });

  it('a person in none of allowed_groups gets a clear refusal page and no account', async () => {
    const before = (await users()).length;
    const { result: page, event } = await auditedBy('sso.refused', () => signIn('sub-bob'));
    assert.equal(page.status, 403);
    assert.match(page.text, /Access not granted/);
    assert.doesNotMatch(page.text, /at \w+ \(|Error:/, 'no stack');
    assert.equal((await users()).length, before);
    assert.deepEqual([event.user_id, event.detail.provider, event.detail.reason, event.detail.issuer, event.detail.subject], [null, PROVIDER_ID, 'not_allowed', idp.issuer, 'sub-bob']);
  });

  it('a name taken by a local user gets a suffixed username: the IdP identity never takes over the local account', async () => {
    const created = await fetch(`${t.url}/api/users`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'carol', password: 'carols-password' }) });
    assert.equal(created.status, 201);
    const local = await created.json();
    await signIn('sub-carol');
    const carols = (await users()).filter((user) => user.username.startsWith('carol'));
    assert.deepEqual(carols.map((user) => [user.username, user.source]).sort(), [['carol', 'local'], ['carol-acme', 'sso:acme']]);
    assert.equal(carols.find((user) => user.username === 'carol')!.id, local.id);
  });

  it('without preferred_username the email becomes the username, lowercased', async () => {
    await signIn('sub-dave');
    assert.ok((await users()).some((user) => user.username === 'dave@acme.example' && user.source === 'sso:acme'));
  });

  it('the whole MCP client authorization runs through company sign-in with the SDK client', async () => {
    const { client, provider } = await connectWithOAuth(t.url!, { provider: PROVIDER_ID, username: 'sub-carol' });
    assert.ok(provider.authorizationResponse?.code);
    const tools = await client.listTools();
    assert.ok(tools.tools.length > 0);
    await client.close();
  });

  describe('bad input: a clear page and nothing created', () => {
    /** Starts a sign-in and returns the callback URL the IdP sent the browser to, not yet requested. */
    async function callbackOf(account: string, jar: CookieJar): Promise<URL> {
      const stopped = await browse(`${t.url}/login/oidc/${PROVIDER_ID}`, { idp, account, jar, stopAt: `/login/oidc/${PROVIDER_ID}/callback` });
      assert.equal(stopped.url.pathname, `/login/oidc/${PROVIDER_ID}/callback`);
      return stopped.url;
    }
    const requestWith = (url: URL, jar: CookieJar) => browse(url.href, { idp, jar });

    /** The refusal page, no account, and (unless `audited` is null) one `sso.refused` event giving its reason. */
    async function assertRefused(run: () => Promise<{ status: number; text: string }>, status: number, title: RegExp, audited: { reason: string; check?: RegExp } | null) {
      const before = (await users()).length;
      const refusalsBefore = (await ssoEvents('sso.refused')).length;
      const page = await run();
      assert.equal(page.status, status, page.text);
      assert.match(page.text, title);
      assert.doesNotMatch(page.text, /at \w+ \(|Error:/, 'no stack');
      assert.equal((await users()).length, before, 'no account created');
      const refusals = await ssoEvents('sso.refused');
      if (audited === null) return assert.equal(refusals.length, refusalsBefore, 'nothing audited');
      assert.equal(refusals.length, refusalsBefore + 1, 'one sso.refused event');
      assert.equal(refusals[0]!.detail.reason, audited.reason);
      if (audited.check) assert.match(String(refusals[0]!.detail.check), audited.check);
      assert.doesNotMatch(JSON.stringify(refusals[0]!.detail), /eyJ/, 'no token in the audit');
    }

    it('an error= callback from the IdP', async () => {
      await assertRefused(async () => {
        const jar = new CookieJar();
        const started = await fetch(`${t.url}/login/oidc/${PROVIDER_ID}`, { redirect: 'manual' });
        jar.store(started);
        const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
        const query = new URLSearchParams({ error: 'access_denied', state, iss: idp.issuer });
        return requestWith(new URL(`${t.url}/login/oidc/${PROVIDER_ID}/callback?${query}`), jar);
      }, 403, /Sign-in not completed/, { reason: 'provider_refused', check: /access_denied/ });
    });

    it('a forged state', async () => {
      await assertRefused(async () => {
        const jar = new CookieJar();
        const callback = await callbackOf('sub-erin', jar);
        callback.searchParams.set('state', 'forged');
        return requestWith(callback, jar);
      }, 400, /could not be verified/, { reason: 'invalid_response', check: /callback/ });
    });

    it('a callback in a browser that started no sign-in, and a callback replayed with its cookie', async () => {
      const jar = new CookieJar();
      const callback = await callbackOf('sub-carol', jar);
      await assertRefused(() => requestWith(callback, new CookieJar()), 400, /Sign-in expired/, { reason: 'no_pending_sign_in' });
      const cookie = jar.header()!;
      const first = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
      assert.equal(first.status, 303, 'the browser that started it signs in');
      await assertRefused(async () => {
        const replay = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
        return { status: replay.status, text: await replay.text() };
      }, 400, /Sign-in expired/, { reason: 'no_pending_sign_in' });
    });

    for (const [name, rewrite] of [
      ['a wrong nonce', (claims: Record<string, unknown>) => ({ ...claims, nonce: 'another' })],
      ['an ID token from another issuer', (claims: Record<string, unknown>) => ({ ...claims, iss: 'https://evil.example' })],
      ['an ID token for another audience', (claims: Record<string, unknown>) => ({ ...claims, aud: 'another-client' })],
      ['an expired ID token', (claims: Record<string, unknown>) => ({ ...claims, exp: Math.floor(Date.now() / 1000) - 3600 })],
    ] as const) {
      it(name, async () => {
        idp.rewriteIdToken = rewrite;
        await assertRefused(async () => {
          const jar = new CookieJar();
          return requestWith(await callbackOf('sub-erin', jar), jar);
        }, 400, /could not be verified/, { reason: 'invalid_response', check: /token response/ });
      });
    }

    it('an ID token signed with a key the IdP never published', async () => {
      idp.rewriteIdToken = (claims) => claims;
      idp.signWithForeignKey = true;
      await assertRefused(async () => {
        const jar = new CookieJar();
        return requestWith(await callbackOf('sub-erin', jar), jar);
      }, 400, /could not be verified/, { reason: 'invalid_response', check: /signature/ });
    });

    it('a disabled account signs in no more', async () => {
      idp.accounts.set('sub-frank', { preferred_username: 'frank', groups: ['staff'] });
      assert.equal((await signIn('sub-frank')).status, 200);
      await t.runtime.users.disable('frank');
      await assertRefused(() => signIn('sub-frank'), 403, /Account disabled/, { reason: 'account_disabled' });
    });

    it('an unreachable IdP is a 502 page', async () => {
      await assertRefused(() => browse(`${t.url}/login/oidc/down`, { idp }), 502, /Identity provider unavailable/, { reason: 'provider_unavailable' });
    });

    it('a misconfigured issuer (no discovery document there) is a 502 page', async () => {
      await assertRefused(() => browse(`${t.url}/login/oidc/elsewhere`, { idp }), 502, /Identity provider unavailable/, { reason: 'provider_unavailable', check: /discovery/ });
    });

    it('an unknown provider id is a 404 page', async () => {
      await assertRefused(() => browse(`${t.url}/login/oidc/nope`, { idp }), 404, /Unknown sign-in provider/, null);
    });
  });

  it('an upstream with allowed_groups serves members of the group signed in through the IdP, not others', async () => {
    const upstream = await startHttpUpstream({ name: 'staff-tools' });
    try {
      const created = await fetch(`${t.url}/api/mcp/client`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'stafftools', connection_type: 'http', connection_string: upstream.url, allowed_groups: ['staff'] }),
      });
      assert.equal(created.status, 201, await created.text());
      const toolsOf = async (credentials: Credentials) => {
        const { client } = await connectWithOAuth(t.url!, credentials);
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        await client.close();
        return names;
      };
      await waitFor('the group member to see the tools', async () => (await toolsOf({ provider: PROVIDER_ID, username: 'sub-carol' })).some((name) => name.startsWith('stafftools')) || undefined, 200);
      assert.ok(!(await toolsOf({ username: 'admin', password: TEST_ADMIN_PASSWORD })).some((name) => name.startsWith('stafftools')), 'an admin outside the group');
    } finally {
      await upstream.close();
    }
  });
});

describe('company sign-in with the claims in the ID token', () => {
  let t: TestApp;
  let idp: CompanyIdp;
  let close: () => Promise<void>;
  before(async () => {
    ({ t, idp, close } = await startAppWithCompanyIdp({
      accounts: { 'sub-gina': { preferred_username: 'gina', groups: ['ops'] } },
      provider: { admin_groups: ['ops'] },
      claimsInIdToken: true,
    }));
  });
  after(() => close());

  it('reads groups and username from the ID token and asks userinfo nothing', async () => {
    const page = await browse(`${t.url}/login/oidc/${PROVIDER_ID}`, { idp, account: 'sub-gina' });
    assert.equal(page.status, 200, page.text);
    const gina = (await t.runtime.store.users.findByExternalIdentity(idp.issuer, 'sub-gina'))!;
    assert.deepEqual([gina.username, gina.groups, gina.isAdmin], ['gina', ['ops'], true]);
    assert.equal(idp.userinfoRequests, 0);
  });
});

