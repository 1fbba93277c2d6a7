import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startOidcUpstream } from '../fixtures/oauth-upstreams/oidc-upstream.js';
import type { OAuthUpstream } from '../fixtures/oauth-upstreams/protected-mcp.js';
import { startSdkAuthUpstream } from '../fixtures/oauth-upstreams/sdk-auth-upstream.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { testClock } from '../helpers/clock.js';
import { waitFor } from '../helpers/wait-for.js';
import type { PendingOAuth } from '../../src/upstream/upstream-service.js';
import { authorizeHeadlessly, CookieJar, type PasswordCredentials as Credentials } from '../helpers/headless-consent.js';
import { connectWithOAuth, obtainAccessToken } from '../helpers/mcp-session.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/**
 * Outbound OAuth as users meet it: a Gatehouse listening on a real port whose upstreams are real SDK-built MCP
 * servers guarded by authorization servers no one here wrote (oidc-provider, and the MCP SDK's own auth router).
 * Admins add them over the API and authorize in a (headless) browser; end users reach them through /mcp with the
 * SDK client after its own OAuth flow against Gatehouse. Gatehouse's clock is the test's, so an upstream token's
 * expiry is reached by moving it rather than by waiting.
 */

const ADMIN: Credentials = { username: 'admin', password: TEST_ADMIN_PASSWORD };
const ALICE: Credentials = { username: 'alice', password: 'Alice-e2e-pw-2231' };
const BOB: Credentials = { username: 'bob', password: 'Bob-e2e-pw-4821' };

const textOf = (result: CallToolResult) => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');


describe('outbound OAuth end to end: upstreams behind oidc-provider and the MCP SDK auth router', { timeout: 180_000 }, () => {
  const clock = testClock();
  let gatehouse: TestApp & { url: string };
  let oidc: OAuthUpstream;
  let sdk: OAuthUpstream;

  const api = async (method: string, path: string, body?: unknown, credentials: Credentials = ADMIN) => {
    const response = await fetch(`${gatehouse.url}${path}`, {
      method,
      headers: { authorization: basicAuth(credentials.username, credentials.password), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };

  const upstreamState = async (id: string) => ((await api('GET', `/api/mcp/client/${id}`)).body.status as { state: string; reason?: string });

  /** The page a browser lands on after the upstream's consent: GET the callback, in `jar`'s session when given. */
  const landOnCallback = async (callback: string, jar?: CookieJar) => {
    const cookie = jar?.header();
    const response = await fetch(callback, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    return { status: response.status, page: await response.text() };
  };

  /** Follows a Gatehouse connect link as `who`, signed in to Gatehouse first, up to the upstream's authorization page. */
  const followConnectLink = async (link: string, who: Credentials, jar = new CookieJar()) => {
    await authorizeHeadlessly(`${gatehouse.url}/login?next=${encodeURIComponent('/account/apps')}`, { credentials: who, redirectUri: `${gatehouse.url}/account/apps`, jar });
    const response = await fetch(link, { redirect: 'manual', headers: { cookie: jar.header() ?? '' } });
    const location = response.headers.get('location');
    if (response.status !== 302 || !location) throw new Error(`the connect link answered ${response.status}: ${(await response.text()).replace(/<[^>]+>/g, ' ').slice(0, 300)}`);
    return { upstreamAuthorizeUrl: location, jar };
  };

  before(async () => {
    oidc = await startOidcUpstream({ accessTokenTtl: 60 });
    sdk = await startSdkAuthUpstream({ accessTokenTtl: 60 });
    const app = await startTestApp({ listen: true, flags: { demo: false, allowPrivateNetworks: true }, clock });
    gatehouse = { ...app, url: app.url! };
    for (const user of [ALICE, BOB]) assert.equal((await api('POST', '/api/users', user)).status, 201);
  });
  after(async () => {
    await gatehouse?.close();
    await oidc?.close();
    await sdk?.close();
  });

  it('a shared upstream: the admin authorizes it once, complete-oauth connects it, and users reach it as that one account', async () => {
    const created = await api('POST', '/api/mcp/client', { name: 'shared', connection_type: 'http', connection_string: oidc.mcpUrl, auth_type: 'oauth' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pending = created.body as unknown as PendingOAuth;
    assert.equal(pending.status, 'pending_oauth');
    assert.ok(pending.authorize_url.startsWith(oidc.issuer), 'a shared authorization goes straight to the upstream');
    const authorizeUrl = new URL(pending.authorize_url);
    assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizeUrl.searchParams.get('resource'), oidc.mcpUrl);
    assert.equal(authorizeUrl.searchParams.get('redirect_uri'), `${gatehouse.url}/api/oauth/callback`);

    assert.equal((await api('GET', new URL(pending.status_url).pathname)).body.status, 'pending');
    assert.equal((await api('POST', `/api/mcp/client/${pending.id}/complete-oauth`)).status, 400, 'not authorized yet');
    assert.equal((await api('POST', '/api/mcp/client/ups_nothing/complete-oauth')).status, 404);

    const landed = await landOnCallback(await oidc.authorizeHeadlessly(pending.authorize_url, { login: 'service-account' }));
    assert.equal(landed.status, 200, landed.page);
    assert.match(landed.page, /connected/i);
    assert.equal((await api('GET', new URL(pending.status_url).pathname)).body.status, 'authorized');

    const completed = await api('POST', `/api/mcp/client/${pending.oauth_config_id}/complete-oauth`);
    assert.equal(completed.status, 200, JSON.stringify(completed.body));
    assert.deepEqual(completed.body, { status: 'success', message: 'MCP client connected successfully with OAuth' });
    assert.equal((await upstreamState(pending.id)).state, 'connected');

    const { client } = await connectWithOAuth(gatehouse.url, ALICE);
    try {
      const result = (await client.callTool({ name: 'shared_whoami', arguments: {} })) as CallToolResult;
      assert.equal(textOf(result), 'service-account');
    } finally {
      await client.close();
    }
  });

  it('per-user: the admin connects first, users without a connection are asked to (link or URL elicitation), two users are two subjects', async () => {
    const created = await api('POST', '/api/mcp/client', { name: 'personal', connection_type: 'http', connection_string: sdk.mcpUrl, auth_type: 'per_user_oauth' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pending = created.body as unknown as PendingOAuth;
    assert.ok(pending.authorize_url.startsWith(`${gatehouse.url}/connect/`), 'a per-user authorization starts at a Gatehouse link bound to the admin');

    const adminBrowser = await followConnectLink(pending.authorize_url, ADMIN);
    const adminLanded = await landOnCallback(await sdk.authorizeHeadlessly(adminBrowser.upstreamAuthorizeUrl, { login: 'admin-account' }), adminBrowser.jar);
    assert.equal(adminLanded.status, 200, adminLanded.page);
    const completed = await api('POST', `/api/mcp/client/${pending.id}/complete-oauth`);
    assert.equal(completed.status, 200, JSON.stringify(completed.body));
    assert.equal(completed.body.status, 'success');
    assert.match(String(completed.body.message), /Each user will authenticate individually/);

    // Alice's client declares no elicitation: she gets a tool error result holding her link.
    const { client: alice } = await connectWithOAuth(gatehouse.url, ALICE);
    let listChanged = 0;
    alice.setNotificationHandler(ToolListChangedNotificationSchema, () => void (listChanged += 1));
    try {
      const names = (await alice.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('personal_whoami'), `a user without a connection still sees the tools: ${names.join(', ')}`);
      const asked = (await alice.callTool({ name: 'personal_whoami', arguments: {} })) as CallToolResult;
      assert.equal(asked.isError, true);
      const link = /(http:\/\/\S+\/connect\/[A-Za-z0-9_-]+)/.exec(textOf(asked))?.[1];
      assert.ok(link, `the result holds a connect link: ${textOf(asked)}`);

      // The link is bound to Alice: Bob, signed in, is refused.
      await assert.rejects(followConnectLink(link, BOB), /answered 403/);

      const aliceBrowser = await followConnectLink(link, ALICE);
      const aliceLanded = await landOnCallback(await sdk.authorizeHeadlessly(aliceBrowser.upstreamAuthorizeUrl, { login: 'alice-account' }), aliceBrowser.jar);
      assert.equal(aliceLanded.status, 200, aliceLanded.page);
      await waitFor('tools/list_changed after connecting', () => (listChanged > 0 ? true : undefined));

      const mine = (await alice.callTool({ name: 'personal_whoami', arguments: {} })) as CallToolResult;
      assert.equal(textOf(mine), 'alice-account', 'the same session works without reconnecting');
      // Resources name what one account holds: each user lists (and reads) their own, through their own connection.
      const resources = (await alice.listResources()).resources.map((resource) => resource.uri);
      assert.ok(resources.includes('profile://alice-account'), resources.join(', '));
      assert.ok(!resources.some((uri) => uri.includes('admin-account')), 'the admin’s resources are not listed to Alice');
      const profile = await alice.readResource({ uri: 'profile://alice-account' });
      assert.equal((profile.contents[0] as { text: string }).text, 'alice-account');

      // Bob's client declares URL elicitation: he is asked with -32042 and a URL.
      const bobToken = await obtainAccessToken(gatehouse.url, BOB);
      const bob = new Client({ name: 'elicitation-capable', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } } });
      await bob.connect(new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${bobToken.access_token}` } } }));
      try {
        const refused = await bob.callTool({ name: 'personal_whoami', arguments: {} }).then(
          () => assert.fail('expected URL elicitation'),
          (error: unknown) => error,
        );
        assert.ok(refused instanceof McpError);
        assert.equal(refused.code, ErrorCode.UrlElicitationRequired);
        const elicitations = (refused.data as { elicitations: { mode: string; url: string; elicitationId: string }[] }).elicitations;
        assert.equal(elicitations[0]?.mode, 'url');
        assert.ok(elicitations[0]?.url.startsWith(`${gatehouse.url}/connect/`));
        const bobSees = (await bob.listResources()).resources.map((resource) => resource.uri);
        assert.ok(!bobSees.some((uri) => /admin-account|alice-account/.test(uri)), `without a connection of his own, none of the per-user upstream's resources: ${bobSees.join(', ')}`);
      } finally {
        await bob.close();
      }
      assert.equal(sdk.counters.mcpRequestsBySub.has('alice-account'), true);
      assert.equal(sdk.counters.mcpRequestsBySub.has('admin-account'), true);
    } finally {
      await alice.close();
    }
  });

  it('tokens are refreshed ahead of expiry; a refresh token revoked upstream leads to needs_auth, and reconnecting recovers', async () => {
    oidc.setAccessTokenTtl(4);
    const created = await api('POST', '/api/mcp/client', { name: 'short', connection_type: 'http', connection_string: oidc.mcpUrl, auth_type: 'oauth' });
    const pending = created.body as unknown as PendingOAuth;
    assert.equal((await landOnCallback(await oidc.authorizeHeadlessly(pending.authorize_url, { login: 'short-lived' }))).status, 200);
    assert.equal((await api('POST', `/api/mcp/client/${pending.id}/complete-oauth`)).status, 200);

    const { client } = await connectWithOAuth(gatehouse.url, ALICE);
    try {
      const refreshesBefore = oidc.counters.refreshes;
      assert.equal(textOf((await client.callTool({ name: 'short_whoami', arguments: {} })) as CallToolResult), 'short-lived');
      clock.advance(3_000);
      assert.equal(textOf((await client.callTool({ name: 'short_whoami', arguments: {} })) as CallToolResult), 'short-lived');
      assert.ok(oidc.counters.refreshes > refreshesBefore, 'the token was refreshed before it expired');

      assert.ok((await oidc.revokeRefreshTokens('short-lived')) > 0);
      // Past the access token's lifetime: the refresh is refused, and there is no token left to use.
      clock.advance(4_500);
      const failed = (await client.callTool({ name: 'short_whoami', arguments: {} })) as CallToolResult;
      assert.equal(failed.isError, true);
      const state = await waitFor('needs_auth', async () => {
        const status = await upstreamState(pending.id);
        return status.state === 'needs_auth' ? status : undefined;
      });
      assert.match(state.reason ?? '', /authoriz/i);
      const events = (await api('GET', '/api/audit/events?kind=upstream.needs_auth')).body.events as { detail: { upstream_id: string } }[];
      assert.ok(events.some((event) => event.detail.upstream_id === pending.id), 'needs_auth is in the audit');

      const again = await api('POST', `/api/mcp/client/${pending.id}/reconnect`);
      assert.equal(again.body.status, 'pending_oauth', JSON.stringify(again.body));
      const renewed = again.body as unknown as PendingOAuth;
      assert.equal((await landOnCallback(await oidc.authorizeHeadlessly(renewed.authorize_url, { login: 'short-lived' }))).status, 200);
      assert.equal((await api('POST', `/api/mcp/client/${pending.id}/complete-oauth`)).status, 200);
      assert.equal(textOf((await client.callTool({ name: 'short_whoami', arguments: {} })) as CallToolResult), 'short-lived');
    } finally {
      await client.close();
      oidc.setAccessTokenTtl(60);
    }
  });

  it('an upstream that drops the registration: invalid_client at refresh re-registers once, then reconnecting works', async () => {
    oidc.setAccessTokenTtl(2);
    const created = await api('POST', '/api/mcp/client', { name: 'dropped', connection_type: 'http', connection_string: oidc.mcpUrl, auth_type: 'oauth' });
    const pending = created.body as unknown as PendingOAuth;
    const clientId = new URL(pending.authorize_url).searchParams.get('client_id')!;
    assert.equal((await landOnCallback(await oidc.authorizeHeadlessly(pending.authorize_url, { login: 'dropped' }))).status, 200);
    assert.equal((await api('POST', `/api/mcp/client/${pending.id}/complete-oauth`)).status, 200);
    oidc.setAccessTokenTtl(60);

    const registrationsBefore = oidc.counters.registrations;
    assert.equal(await oidc.deleteClient(clientId), true);
    clock.advance(2_500);
    const { client } = await connectWithOAuth(gatehouse.url, ALICE);
    try {
      assert.equal(((await client.callTool({ name: 'dropped_whoami', arguments: {} })) as CallToolResult).isError, true);
      await waitFor('needs_auth', async () => ((await upstreamState(pending.id)).state === 'needs_auth' ? true : undefined));
      assert.equal(oidc.counters.registrations, registrationsBefore + 1, 'Gatehouse registered once more');

      const again = (await api('POST', `/api/mcp/client/${pending.id}/reconnect`)).body as unknown as PendingOAuth;
      assert.notEqual(new URL(again.authorize_url).searchParams.get('client_id'), clientId, 'the new authorization uses the new registration');
      assert.equal((await landOnCallback(await oidc.authorizeHeadlessly(again.authorize_url, { login: 'dropped' }))).status, 200);
      assert.equal((await api('POST', `/api/mcp/client/${pending.id}/complete-oauth`)).status, 200);
      assert.equal(textOf((await client.callTool({ name: 'dropped_whoami', arguments: {} })) as CallToolResult), 'dropped');
    } finally {
      await client.close();
    }
  });

  it('deleting an upstream revokes its tokens at the upstream', async () => {
    const { body } = await api('GET', '/api/mcp/clients');
    const shared = (body.clients as { id: string; name: string }[]).find((upstream) => upstream.name === 'shared')!;
    const before = oidc.counters.revocations;
    assert.equal((await api('DELETE', `/api/mcp/client/${shared.id}`)).status, 204);
    assert.ok(oidc.counters.revocations > before, 'the refresh token was revoked upstream');
    assert.equal((await api('GET', `/api/oauth/config/${shared.id}/status`)).status, 404, 'nothing is left of its OAuth setup');
  });
});
