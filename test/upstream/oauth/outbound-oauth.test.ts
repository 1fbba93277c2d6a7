import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { auditLog } from '../../../src/audit/audit-log.js';
import { keyedHasher } from '../../../src/crypto/keyed-hash.js';
import { createOutboundOAuth, SHARED_SUBJECT, type OutboundEvent, type OutboundOAuth } from '../../../src/upstream/oauth/outbound-oauth.js';
import { NeedsAuthorization } from '../../../src/upstream/oauth/token-vault.js';
import { FlowRefused, OAuthSetupError } from '../../../src/upstream/oauth/types.js';
import { sealSecrets, settingsOf } from '../../../src/upstream/settings.js';
import type { UpstreamSettings } from '../../../src/upstream/types.js';
import { backends, openTestStore } from '../../helpers/backends.js';
import { authorizationServer, mockServer, s256, type MockAuthorizationServer, type MockServer } from './mock-authorization-server.js';

const PUBLIC_URL = 'https://gatehouse.example';
const UPSTREAM_ID = 'ups_tickets';

for (const backend of backends) describe(`outbound OAuth on ${backend}: flows, callback and credentials per issuer`, () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let upstream: MockServer;
  let as1: MockAuthorizationServer;
  let as2: MockAuthorizationServer;
  let clock: number;
  const key = randomBytes(32);

  /** The upstream's protected resource metadata names `issuer` as its authorization server. */
  const protectBy = (issuer: string) => {
    upstream.route('GET', '/.well-known/oauth-protected-resource/mcp', { json: { resource: `${upstream.origin}/mcp`, authorization_servers: [issuer] } });
  };

  const outbound = (allowPrivateNetworks = true): OutboundOAuth =>
    createOutboundOAuth({
      store,
      encryptionKey: key,
      stateHasher: keyedHasher([{ version: 1, key: randomBytes(32) }]),
      config: { publicUrl: PUBLIC_URL, allowPrivateNetworks, outboundOAuth: { refreshMarginSeconds: 60, flowTtlSeconds: 900 } },
      audit: auditLog(store.audit),
      now: () => clock,
    });

  /** Where the authorization server sends the browser back after approval. */
  const callbackFor = (authorizeUrl: string, code = 'code-1') => {
    const state = new URL(authorizeUrl).searchParams.get('state')!;
    return new URL(`${PUBLIC_URL}/api/oauth/callback?code=${code}&state=${encodeURIComponent(state)}`);
  };

  beforeEach(async () => {
    clock = Date.now();
    store = await openTestStore(backend);
    upstream = await mockServer();
    as1 = await authorizationServer();
    as2 = await authorizationServer();
    as2.route('POST', '/register', (request) => ({ status: 201, json: { ...JSON.parse(request.body), client_id: 'client-at-as2' } }));
    upstream.route('POST', '/mcp', {
      status: 401,
      headers: { 'www-authenticate': `Bearer resource_metadata="${upstream.origin}/.well-known/oauth-protected-resource/mcp", scope="tickets:read"` },
    });
    protectBy(as1.issuer);
    const settings: UpstreamSettings = { name: 'tickets', connection_type: 'http', connection_string: `${upstream.origin}/mcp`, auth_type: 'per_user_oauth', timeout_ms: 5000 };
    await store.upstreams.create({ id: UPSTREAM_ID, name: 'tickets', source: 'api', config: JSON.stringify(settings), sealedSecrets: null, createdAt: 1, updatedAt: 1 });
  });
  afterEach(async () => {
    await Promise.all([upstream.close(), as1.close(), as2.close()]);
    await store.close();
  });

  it('starts with PKCE S256, a state and the resource, keeps only a hash of the state and the verifier sealed, and the callback is good once', async () => {
    const oauth = outbound();
    const flow = await oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin');
    const url = new URL(flow.authorizeUrl);
    assert.equal(url.origin + url.pathname, `${as1.issuer}/authorize`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('resource'), `${upstream.origin}/mcp`);
    assert.equal(url.searchParams.get('scope'), 'tickets:read', 'the scope comes from the challenge');
    assert.equal(url.searchParams.get('redirect_uri'), `${PUBLIC_URL}/api/oauth/callback`);

    const state = url.searchParams.get('state')!;
    const row = (await store.upstreamOAuthFlows.find(flow.flowId, clock))!;
    assert.notEqual(row.stateHash, state);
    assert.doesNotMatch(row.sealed, new RegExp(state));

    const callback = callbackFor(flow.authorizeUrl);
    assert.deepEqual(await oauth.completeCallback(callback, null), { upstreamId: UPSTREAM_ID, purpose: 'shared', userId: 'usr_admin' });
    const exchange = as1.tokenRequests()[0]!;
    assert.equal(s256(exchange.form.get('code_verifier')!), url.searchParams.get('code_challenge'), 'the verifier matches the challenge');
    assert.equal(exchange.form.get('resource'), `${upstream.origin}/mcp`);
    assert.equal(await oauth.vault.accessToken(UPSTREAM_ID, SHARED_SUBJECT), 'at-1');
    const stored = (await store.upstreamTokens.find(UPSTREAM_ID, SHARED_SUBJECT))!;
    assert.doesNotMatch(stored.sealed, /at-1|rt-1/, 'tokens are sealed at rest');
    assert.equal((await oauth.configOf(UPSTREAM_ID))?.status, 'authorized');

    await assert.rejects(oauth.completeCallback(callback, null), (error: unknown) => error instanceof FlowRefused && error.code === 'unknown_flow');
    assert.equal(as1.tokenRequests().length, 1, 'a replayed state never reaches the token endpoint');
  });

  it('with send_resource off, no resource goes on the authorization, token or refresh requests', async () => {
    const record = (await store.upstreams.find(UPSTREAM_ID))!;
    const settings = { ...(JSON.parse(record.config) as UpstreamSettings), oauth_config: { send_resource: false } };
    await store.upstreams.update(UPSTREAM_ID, { name: record.name, config: JSON.stringify(settings), sealedSecrets: null, updatedAt: 2 });
    const oauth = outbound();
    const flow = await oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin');
    assert.equal(new URL(flow.authorizeUrl).searchParams.has('resource'), false);
    await oauth.completeCallback(callbackFor(flow.authorizeUrl), null);
    clock += 3_600_000;
    await oauth.vault.accessToken(UPSTREAM_ID, SHARED_SUBJECT);
    const [exchange, refresh] = as1.tokenRequests();
    assert.equal(refresh?.form.get('grant_type'), 'refresh_token');
    assert.equal(exchange?.form.has('resource'), false);
    assert.equal(refresh?.form.has('resource'), false);
  });

  it('configured credentials are used first, without registering, and the client secret is stored sealed', async () => {
    const record = (await store.upstreams.find(UPSTREAM_ID))!;
    const settings = { ...settingsOf(record), oauth_config: { client_id: 'pre-registered', send_resource: true } };
    const sealedSecrets = sealSecrets(key, UPSTREAM_ID, { oauth_client_secret: 'cs-s3cret' });
    await store.upstreams.update(UPSTREAM_ID, { name: record.name, config: JSON.stringify(settings), sealedSecrets, updatedAt: 2 });
    const oauth = outbound();
    const flow = await oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin');
    assert.equal(new URL(flow.authorizeUrl).searchParams.get('client_id'), 'pre-registered');
    assert.ok(!as1.paths().includes('POST /register'), 'no registration when credentials are configured');
    const stored = (await store.upstreamOAuthClients.find(UPSTREAM_ID, as1.issuer))!;
    assert.equal(stored.source, 'configured');
    assert.ok(stored.sealedSecret !== null && !stored.sealedSecret.includes('cs-s3cret'), 'the secret is sealed at rest');
    await oauth.completeCallback(callbackFor(flow.authorizeUrl), null);
    const basic = as1.tokenRequests()[0]!.headers.authorization ?? '';
    assert.equal(Buffer.from(basic.replace(/^Basic /, ''), 'base64').toString(), 'pre-registered:cs-s3cret');
  });

  it('an expired flow is refused at the callback and at its link', async () => {
    const oauth = outbound();
    const flow = await oauth.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice');
    clock += 901_000;
    await assert.rejects(oauth.openLink(flow.flowId, 'usr_alice'), (error: unknown) => error instanceof FlowRefused && error.code === 'unknown_flow');
    await assert.rejects(oauth.completeCallback(callbackFor(flow.authorizeUrl), 'usr_alice'), (error: unknown) => error instanceof FlowRefused && error.code === 'unknown_flow');
    assert.equal(as1.tokenRequests().length, 0);
  });

  it('a code the authorization server refuses marks the shared setup failed with the reason; a user’s own failed flow leaves the setup alone', async () => {
    as1.route('POST', '/token', { status: 400, json: { error: 'invalid_grant', error_description: 'the code has expired' } });
    const oauth = outbound();
    const shared = await oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin');
    await assert.rejects(oauth.completeCallback(callbackFor(shared.authorizeUrl), null), (error: unknown) => error instanceof FlowRefused && error.code === 'upstream_refused');
    const failed = await oauth.configOf(UPSTREAM_ID);
    assert.equal(failed?.status, 'failed');
    assert.match(failed?.error ?? '', /token endpoint .*"invalid_grant"/);
    assert.ok(failed?.discovered, 'the discovered metadata is kept for the next authorization');

    const personal = await oauth.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice', { reuseDiscovery: true });
    await oauth.completeCallback(callbackFor(personal.authorizeUrl), 'usr_alice').catch(() => undefined);
    assert.equal((await oauth.configOf(UPSTREAM_ID))?.status, 'failed', 'a per-user failure does not overwrite what the admin polls');
  });

  it('a per-user authorization completes only in the browser of the user it was issued for', async () => {
    const oauth = outbound();
    const first = await oauth.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice');
    await assert.rejects(oauth.openLink(first.flowId, 'usr_bob'), (error: unknown) => error instanceof FlowRefused && error.code === 'other_user');
    assert.equal((await oauth.openLink(first.flowId, 'usr_alice')).authorizeUrl, first.authorizeUrl);
    await assert.rejects(oauth.completeCallback(callbackFor(first.authorizeUrl), null), (error: unknown) => error instanceof FlowRefused && error.code === 'sign_in_required');

    const second = await oauth.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice');
    await assert.rejects(oauth.completeCallback(callbackFor(second.authorizeUrl), 'usr_bob'), (error: unknown) => error instanceof FlowRefused && error.code === 'other_user');
    assert.equal(as1.tokenRequests().length, 0, 'no code was exchanged for the wrong user');
    assert.equal((await oauth.vault.status(UPSTREAM_ID, 'usr_bob')).state, 'none');
  });

  it('credentials are kept per issuer: after the upstream moves to another authorization server Gatehouse registers there, and old tokens are not refreshed there', async () => {
    const oauth = outbound();
    const first = await oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin');
    assert.equal(new URL(first.authorizeUrl).searchParams.get('client_id'), 'registered-client');
    await oauth.completeCallback(callbackFor(first.authorizeUrl), null);

    protectBy(as2.issuer);
    const moved = await oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin');
    const movedUrl = new URL(moved.authorizeUrl);
    assert.equal(movedUrl.origin, as2.issuer);
    assert.equal(movedUrl.searchParams.get('client_id'), 'client-at-as2');
    assert.ok(as2.requests.every((request) => !request.body.includes('registered-client') && !request.query.toString().includes('registered-client')), 'the first issuer’s client id never reaches the second');
    assert.equal((await store.upstreamOAuthClients.find(UPSTREAM_ID, as1.issuer))?.clientId, 'registered-client', 'the first registration is kept for its issuer');

    clock += 3_600_000;
    await assert.rejects(oauth.vault.accessToken(UPSTREAM_ID, SHARED_SUBJECT), NeedsAuthorization);
    assert.equal(as2.tokenRequests().length, 0, 'tokens of the first issuer are never sent to the second');
  });

  it('URLs from the upstream’s documents are fetched behind the SSRF guard: an authorization server on a private address is refused', async () => {
    const oauth = outbound(false);
    // The PRM is on the upstream's own (trusted) origin; the authorization server it names is loopback, elsewhere.
    await assert.rejects(oauth.startFlow(UPSTREAM_ID, 'shared', 'usr_admin'), (error: unknown) => {
      assert.ok(error instanceof OAuthSetupError, String(error));
      assert.equal(error.step, 'authorization_server_metadata');
      return true;
    });
    assert.equal(as1.requests.length, 0, 'nothing was sent to the private address');
    assert.equal((await oauth.configOf(UPSTREAM_ID))?.status, 'failed');
  });

  it('an upstream that does not ask for authorization is refused at setup, saying to use auth_type none', async () => {
    upstream.route('POST', '/mcp', { status: 200, json: { jsonrpc: '2.0', id: 1, result: {} } });
    await assert.rejects(outbound().startFlow(UPSTREAM_ID, 'shared', 'usr_admin'), (error: unknown) => {
      assert.ok(error instanceof OAuthSetupError);
      assert.equal(error.step, 'probe');
      assert.match(error.message, /auth_type "none"/);
      return true;
    });
  });

  it('a replica announces the authorizations completed on another one, once, and not its own twice', async () => {
    const replicaA = outbound();
    const replicaB = outbound();
    const heardByB: string[] = [];
    replicaB.subscribe((event) => void heardByB.push(`${event.kind}:${event.subject}`));
    const heardByA: string[] = [];
    replicaA.subscribe((event) => void heardByA.push(`${event.kind}:${event.subject}`));

    const flow = await replicaA.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice');
    clock += 1000;
    await replicaA.completeCallback(callbackFor(flow.authorizeUrl), 'usr_alice');
    assert.deepEqual(heardByA, ['authorized:usr_alice']);

    assert.equal(await replicaB.followAuthorizations(), 1);
    assert.deepEqual(heardByB, ['authorized:usr_alice']);
    assert.equal(await replicaB.followAuthorizations(), 0, 'announced once');
    assert.equal(await replicaA.followAuthorizations(), 0, 'its own authorization was announced already');
    assert.deepEqual(heardByA, ['authorized:usr_alice']);
  });

  it('an authorization announced by another replica is followed at once, marked as from elsewhere, and not again from the store', async () => {
    const replicaA = outbound();
    const replicaB = outbound();
    const heardByB: OutboundEvent[] = [];
    replicaB.subscribe((event) => void heardByB.push(event));
    const flow = await replicaA.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice');
    clock += 1000;
    await replicaA.completeCallback(callbackFor(flow.authorizeUrl), 'usr_alice');

    replicaB.authorizedElsewhere(UPSTREAM_ID, 'usr_alice');
    assert.deepEqual(heardByB, [{ kind: 'authorized', upstreamId: UPSTREAM_ID, subject: 'usr_alice', elsewhere: true }]);
    assert.equal(await replicaB.followAuthorizations(), 0, 'the safety net finds nothing new');
  });

  it('disconnecting revokes the refresh token at the upstream and erases the tokens', async () => {
    const oauth = outbound();
    const flow = await oauth.startFlow(UPSTREAM_ID, 'per_user', 'usr_alice');
    await oauth.completeCallback(callbackFor(flow.authorizeUrl), 'usr_alice');
    assert.equal(await oauth.disconnect(UPSTREAM_ID, 'usr_alice'), true);
    const revoked = as1.requests.filter((request) => request.path === '/revoke').map((request) => request.form.get('token'));
    assert.ok(revoked.includes('rt-1'));
    assert.equal(await store.upstreamTokens.find(UPSTREAM_ID, 'usr_alice'), undefined);
    assert.equal(await oauth.disconnect(UPSTREAM_ID, 'usr_alice'), false);
  });
});
