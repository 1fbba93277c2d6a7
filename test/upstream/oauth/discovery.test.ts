import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { discover, parseBearerChallenge, probeChallenge } from '../../../src/upstream/oauth/discovery.js';
import { OAuthSetupError, type OutboundHttpOptions } from '../../../src/upstream/oauth/types.js';
import { authorizationServer, mockServer, type MockServer } from './mock-authorization-server.js';

const http: OutboundHttpOptions = { allowPrivateNetworks: true, timeoutMs: 3000 };

async function setupError(promise: Promise<unknown>): Promise<OAuthSetupError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OAuthSetupError, `an OAuthSetupError, got ${String(error)}`);
    return error;
  }
  assert.fail('discovery succeeded');
}

describe('upstream OAuth discovery', () => {
  const servers: MockServer[] = [];
  const track = <T extends MockServer>(server: T): T => (servers.push(server), server);
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  /** An upstream MCP server at <origin>/mcp whose PRM names `issuer`. */
  async function upstreamNaming(issuer: string, prm: Record<string, unknown> = {}, where = '/.well-known/oauth-protected-resource/mcp') {
    const upstream = track(await mockServer());
    upstream.route('GET', where, { json: { resource: `${upstream.origin}/mcp`, authorization_servers: [issuer], ...prm } });
    return upstream;
  }

  describe('the challenge', () => {
    it('reads resource_metadata, scope and error from a Bearer challenge among others', () => {
      const header = 'DPoP algs="ES256", Bearer realm="mcp", error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp"';
      assert.deepEqual(parseBearerChallenge(header), {
        resourceMetadata: 'https://mcp.example/.well-known/oauth-protected-resource/mcp',
        scope: 'files:read files:write',
        error: 'insufficient_scope',
      });
      assert.deepEqual(parseBearerChallenge('Bearer error=invalid_token, error_description="say \\"hi\\""'), { error: 'invalid_token' });
      assert.equal(parseBearerChallenge('Basic realm="x"'), undefined);
      assert.equal(parseBearerChallenge(null), undefined);
    });

    it('probes with an MCP initialize and returns the 401 challenge', async () => {
      const upstream = track(await mockServer());
      upstream.route('POST', '/mcp', { status: 401, headers: { 'www-authenticate': `Bearer resource_metadata="${upstream.origin}/prm", scope="a b"` }, json: {} });
      assert.deepEqual(await probeChallenge(`${upstream.origin}/mcp`), { resourceMetadata: `${upstream.origin}/prm`, scope: 'a b' });
      const [probe] = upstream.requests;
      assert.equal(JSON.parse(probe!.body).method, 'initialize');
      assert.match(String(probe!.headers.accept), /application\/json, text\/event-stream/);
    });

    it('says no authorization is needed when the upstream answers the probe, and ends the session it opened', async () => {
      const upstream = track(await mockServer());
      upstream.route('POST', '/mcp', { headers: { 'mcp-session-id': 'probe-session' }, json: { jsonrpc: '2.0', id: 1, result: {} } });
      upstream.route('DELETE', '/mcp', { status: 200 });
      assert.equal(await probeChallenge(`${upstream.origin}/mcp`), undefined);
      assert.deepEqual(upstream.paths(), ['POST /mcp', 'DELETE /mcp']);
      assert.equal(upstream.requests[1]!.headers['mcp-session-id'], 'probe-session');
    });

    it('fails as a probe error when the upstream cannot be reached', async () => {
      const gone = await mockServer();
      await gone.close();
      const error = await setupError(probeChallenge(`${gone.origin}/mcp`, { timeoutMs: 1000 }));
      assert.equal(error.step, 'probe');
    });
  });

  describe('protected resource metadata', () => {
    it('tries the path-inserted PRM before the root one, and stops at the first found', async () => {
      const as = track(await authorizationServer());
      const upstream = await upstreamNaming(as.issuer);
      upstream.route('GET', '/.well-known/oauth-protected-resource', { json: { resource: upstream.origin, authorization_servers: ['https://wrong.example'] } });
      const discovered = await discover(`${upstream.origin}/mcp`, { http });
      assert.deepEqual(upstream.paths(), ['GET /.well-known/oauth-protected-resource/mcp']);
      assert.equal(discovered.resource, `${upstream.origin}/mcp`);
      assert.equal(discovered.resourceMetadataUrl, `${upstream.origin}/.well-known/oauth-protected-resource/mcp`);
      assert.equal(discovered.issuer, as.issuer);
    });

    it('falls back to the root PRM, whose resource may be the whole origin', async () => {
      const as = track(await authorizationServer());
      const upstream = track(await mockServer());
      upstream.route('GET', '/.well-known/oauth-protected-resource', { json: { resource: upstream.origin, authorization_servers: [as.issuer] } });
      const discovered = await discover(`${upstream.origin}/mcp`, { http });
      assert.deepEqual(upstream.paths(), ['GET /.well-known/oauth-protected-resource/mcp', 'GET /.well-known/oauth-protected-resource']);
      assert.equal(discovered.resource, upstream.origin, 'the resource is sent exactly as published');
    });

    it('uses only the PRM the challenge names', async () => {
      const as = track(await authorizationServer());
      const upstream = await upstreamNaming(as.issuer, {}, '/custom/prm.json');
      const discovered = await discover(`${upstream.origin}/mcp`, { challenge: { resourceMetadata: `${upstream.origin}/custom/prm.json` }, http });
      assert.deepEqual(upstream.paths(), ['GET /custom/prm.json']);
      assert.equal(discovered.resourceMetadataUrl, `${upstream.origin}/custom/prm.json`);
      const missing = await setupError(discover(`${upstream.origin}/mcp`, { challenge: { resourceMetadata: `${upstream.origin}/nowhere` }, http }));
      assert.equal(missing.step, 'protected_resource_metadata');
      assert.match(missing.message, /named by the upstream's challenge.*HTTP 404/);
    });

    it('refuses a PRM whose resource is another server (auth/resource-mismatch)', async () => {
      const as = track(await authorizationServer());
      const upstream = await upstreamNaming(as.issuer, { resource: 'https://evil.example.com/mcp' });
      const error = await setupError(discover(`${upstream.origin}/mcp`, { http }));
      assert.equal(error.step, 'protected_resource_metadata');
      assert.equal(error.url, `${upstream.origin}/.well-known/oauth-protected-resource/mcp`);
      assert.match(error.message, /names another resource, not the upstream/);
      assert.doesNotMatch(error.message, /evil\.example/, 'the fetched value is not quoted');
      assert.equal(as.requests.length, 0, 'the authorization server was never asked');
    });

    it('refuses a PRM for another path of the same host, and accepts a trailing-slash variant of its own', async () => {
      const as = track(await authorizationServer());
      const upstream = track(await mockServer());
      const prm = (resource: string) => ({ json: { resource, authorization_servers: [as.issuer] } });
      upstream.route('GET', '/.well-known/oauth-protected-resource/mcp', prm(`${upstream.origin}/other`));
      assert.equal((await setupError(discover(`${upstream.origin}/mcp`, { http }))).step, 'protected_resource_metadata');
      upstream.route('GET', '/.well-known/oauth-protected-resource/mcp', prm(`${upstream.origin}/mcp/`));
      assert.equal((await discover(`${upstream.origin}/mcp`, { http })).resource, `${upstream.origin}/mcp/`);
    });
  });

  describe('authorization server metadata', () => {
    it('tries the path issuer\'s three well-known URLs in the spec\'s order', async () => {
      const as = track(await mockServer());
      const issuer = `${as.origin}/tenant1`;
      as.route('GET', '/tenant1/.well-known/openid-configuration', {
        json: { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, code_challenge_methods_supported: ['S256'] },
      });
      const upstream = await upstreamNaming(issuer);
      const discovered = await discover(`${upstream.origin}/mcp`, { http });
      assert.deepEqual(as.paths(), [
        'GET /.well-known/oauth-authorization-server/tenant1',
        'GET /.well-known/openid-configuration/tenant1',
        'GET /tenant1/.well-known/openid-configuration',
      ]);
      assert.equal(discovered.issuer, issuer);
    });

    it('tries oauth-authorization-server then openid-configuration for a root issuer', async () => {
      const as = track(await mockServer());
      as.route('GET', '/.well-known/openid-configuration', {
        json: { issuer: as.origin, authorization_endpoint: `${as.origin}/authorize`, token_endpoint: `${as.origin}/token`, code_challenge_methods_supported: ['S256'] },
      });
      const upstream = await upstreamNaming(as.origin);
      await discover(`${upstream.origin}/mcp`, { http });
      assert.deepEqual(as.paths(), ['GET /.well-known/oauth-authorization-server', 'GET /.well-known/openid-configuration']);
    });

    it('refuses metadata whose issuer is not the one the PRM named (RFC 8414 §3.3)', async () => {
      const as = track(await authorizationServer({ metadata: { issuer: 'https://attacker.example.com' } }));
      const upstream = await upstreamNaming(as.issuer);
      const error = await setupError(discover(`${upstream.origin}/mcp`, { http }));
      assert.equal(error.step, 'authorization_server_metadata');
      assert.equal(error.message, `the authorization server metadata at ${as.issuer}/.well-known/oauth-authorization-server names another issuer, expected "${as.issuer}"`);
    });

    it('refuses an authorization server that does not advertise S256, or advertises nothing', async () => {
      for (const methods of [['plain'], undefined]) {
        const as = track(await authorizationServer({ metadata: { code_challenge_methods_supported: methods } }));
        const upstream = await upstreamNaming(as.issuer);
        const error = await setupError(discover(`${upstream.origin}/mcp`, { http }));
        assert.equal(error.step, 'authorization_server_metadata');
        assert.match(error.message, /does not list S256 in "code_challenge_methods_supported"/);
      }
    });

    it('fails when the named authorization server publishes no metadata, unless the admin configured its endpoints', async () => {
      const as = track(await mockServer());
      const upstream = await upstreamNaming(as.origin);
      const error = await setupError(discover(`${upstream.origin}/mcp`, { http }));
      assert.match(error.message, /publishes no metadata \(tried .*oauth-authorization-server, .*openid-configuration\)/);
      const configured = { authorizeUrl: `${as.origin}/auth`, tokenUrl: `${as.origin}/tok`, sendResource: true };
      const discovered = await discover(`${upstream.origin}/mcp`, { configured, http });
      assert.equal(discovered.server.authorization_endpoint, `${as.origin}/auth`);
      assert.equal(discovered.server.token_endpoint, `${as.origin}/tok`);
    });

    it('lets the admin\'s explicit endpoints override the published ones', async () => {
      const as = track(await authorizationServer());
      const upstream = await upstreamNaming(as.issuer);
      const configured = { registrationUrl: 'https://register.example/reg', tokenUrl: 'https://token.example/tok', sendResource: true };
      const { server } = await discover(`${upstream.origin}/mcp`, { configured, http });
      assert.equal(server.registration_endpoint, 'https://register.example/reg');
      assert.equal(server.token_endpoint, 'https://token.example/tok');
      assert.equal(server.authorization_endpoint, `${as.issuer}/authorize`);
    });
  });

  describe('servers without PRM (MCP 2025-03-26)', () => {
    it('reads the authorization server metadata at the upstream\'s origin', async () => {
      const upstream = track(await authorizationServer());
      const discovered = await discover(`${upstream.origin}/mcp`, { http });
      assert.equal(discovered.issuer, upstream.origin);
      assert.equal(discovered.resource, `${upstream.origin}/mcp`);
      assert.equal(discovered.resourceMetadataUrl, undefined);
    });

    it('falls back to /authorize, /token and /register at the origin when there is no metadata either', async () => {
      const upstream = track(await mockServer());
      const { server, issuer } = await discover(`${upstream.origin}/mcp`, { http });
      assert.equal(issuer, upstream.origin);
      assert.equal(server.authorization_endpoint, `${upstream.origin}/authorize`);
      assert.equal(server.token_endpoint, `${upstream.origin}/token`);
      assert.equal(server.registration_endpoint, `${upstream.origin}/register`);
    });
  });

  describe('scope', () => {
    it('takes the challenge\'s scope, else the PRM\'s scopes_supported, else the admin\'s, else none', async () => {
      const as = track(await authorizationServer());
      const withScopes = await upstreamNaming(as.issuer, { scopes_supported: ['files:read', 'files:write'] });
      const configured = { scopes: ['admin:chosen'], sendResource: true };
      const url = `${withScopes.origin}/mcp`;
      assert.equal((await discover(url, { challenge: { scope: 'files:read' }, configured, http })).scope, 'files:read');
      assert.equal((await discover(url, { configured, http })).scope, 'files:read files:write');
      const without = await upstreamNaming(as.issuer);
      assert.equal((await discover(`${without.origin}/mcp`, { configured, http })).scope, 'admin:chosen');
      assert.equal((await discover(`${without.origin}/mcp`, { http })).scope, undefined);
    });
  });

  describe('SSRF guard', () => {
    const guarded: OutboundHttpOptions = { allowPrivateNetworks: false, timeoutMs: 3000, fetchOptions: { resolveHost: async () => ['10.0.0.7'] } };

    it('refuses an authorization server the PRM places on a private address, before connecting', async () => {
      const upstream = await upstreamNaming('https://as.internal.test');
      const error = await setupError(discover(`${upstream.origin}/mcp`, { http: guarded }));
      assert.equal(error.step, 'authorization_server_metadata');
      assert.equal(error.url, 'https://as.internal.test/.well-known/oauth-authorization-server');
      assert.match(error.message, /could not be fetched: it leads to an address that is not allowed/);
    });

    it('refuses a challenge\'s PRM URL on a private address, while the upstream\'s own origin stays reachable', async () => {
      const upstream = track(await mockServer());
      const error = await setupError(discover(`${upstream.origin}/mcp`, { challenge: { resourceMetadata: 'https://metadata.internal.test/prm' }, http: guarded }));
      assert.equal(error.step, 'protected_resource_metadata');
      assert.match(error.message, /could not be fetched: it leads to an address that is not allowed/);
      assert.equal(upstream.requests.length, 0);
    });

    it("refuses a redirect from the upstream's own (trusted) origin to an internal address, without naming where it led", async () => {
      const upstream = track(await mockServer());
      upstream.route('GET', '/.well-known/oauth-protected-resource/mcp', { status: 302, headers: { location: 'https://secret-host.corp.internal/latest/meta-data' } });
      const error = await setupError(discover(`${upstream.origin}/mcp`, { http: { ...guarded, fetchOptions: { resolveHost: async () => ['169.254.169.254'] } } }));
      assert.equal(error.step, 'protected_resource_metadata');
      assert.doesNotMatch(error.message, /secret-host|corp\.internal|169\.254|resolves/);
      assert.match(error.message, /could not be fetched: it leads to an address that is not allowed/);
    });

    it('refuses plain http for documents off the upstream\'s origin', async () => {
      const as = track(await authorizationServer());
      const upstream = await upstreamNaming(as.issuer);
      const error = await setupError(discover(`${upstream.origin}/mcp`, { http: { allowPrivateNetworks: false } }));
      assert.equal(error.step, 'authorization_server_metadata');
      assert.match(error.message, /only https URLs are fetched/);
      assert.equal(as.requests.length, 0);
    });
  });
});
