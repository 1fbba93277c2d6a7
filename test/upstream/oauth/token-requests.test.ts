import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { AuthorizationServer } from 'oauth4webapi';
import { refreshTokens, revokeToken } from '../../../src/upstream/oauth/token-requests.js';
import { TokenRequestError, type ClientCredentials, type OutboundHttpOptions } from '../../../src/upstream/oauth/types.js';
import { authorizationServer, mockServer, type MockAnswer, type MockAuthorizationServer } from './mock-authorization-server.js';

const http: OutboundHttpOptions = { allowPrivateNetworks: true, timeoutMs: 3000 };
const resource = 'https://mcp.example/mcp';
const client: ClientCredentials = { clientId: 'client-1', clientSecret: 'client-secret', authMethod: 'client_secret_basic', source: 'dynamic' };
const refreshToken = 'rt-old-secret-value';

describe('token requests at an upstream authorization server', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serverAnswering = async (tokenAnswer?: MockAnswer, metadata: Record<string, unknown> = {}) => {
    const as: MockAuthorizationServer = await authorizationServer({ metadata, ...(tokenAnswer ? { tokenAnswer: () => tokenAnswer } : {}) });
    servers.push(as);
    return { as, server: as.metadata as unknown as AuthorizationServer };
  };

  describe('refresh', () => {
    it('sends the refresh token, the resource and the client authentication, and returns the rotated tokens', async () => {
      const { as, server } = await serverAnswering({ json: { access_token: 'at-2', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt-2', scope: 'files:read' } });
      const tokens = await refreshTokens({ server, client, refreshToken, resource, http });
      assert.deepEqual({ ...tokens, expiresAt: undefined }, { accessToken: 'at-2', tokenType: 'bearer', refreshToken: 'rt-2', scope: 'files:read', expiresAt: undefined });
      assert.ok(Math.abs(tokens.expiresAt! - (Date.now() + 60_000)) < 5000);
      const [request] = as.tokenRequests();
      assert.equal(request!.form.get('grant_type'), 'refresh_token');
      assert.equal(request!.form.get('refresh_token'), refreshToken);
      assert.equal(request!.form.get('resource'), resource);
      assert.match(String(request!.headers.authorization), /^Basic /);
    });

    it('keeps the old refresh token when the server issues none, and sends no resource when there is none', async () => {
      const { as, server } = await serverAnswering({ json: { access_token: 'at-2', token_type: 'Bearer' } });
      const tokens = await refreshTokens({ server, client, refreshToken, http });
      assert.deepEqual(tokens, { accessToken: 'at-2', tokenType: 'bearer', refreshToken });
      assert.equal(as.tokenRequests()[0]!.form.has('resource'), false);
    });

    const cases: [string, MockAnswer, TokenRequestError['kind']][] = [
      ['400 invalid_grant', { status: 400, json: { error: 'invalid_grant' } }, 'invalid_grant'],
      ['401 invalid_client', { status: 401, json: { error: 'invalid_client' } }, 'invalid_client'],
      ['401 with a Basic challenge', { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' }, json: { error: 'invalid_client' } }, 'invalid_client'],
      ['400 unauthorized_client', { status: 400, json: { error: 'unauthorized_client' } }, 'invalid_client'],
      ['500 server_error', { status: 500, json: { error: 'server_error' } }, 'transient'],
      ['503 with an HTML page', { status: 503, headers: { 'content-type': 'text/html' }, body: '<h1>down</h1>' }, 'transient'],
      ['400 invalid_scope', { status: 400, json: { error: 'invalid_scope' } }, 'other'],
      ['200 without an access token', { json: { token_type: 'Bearer' } }, 'other'],
    ];
    for (const [name, answer, kind] of cases) {
      it(`classifies ${name} as ${kind}, without the token in the message`, async () => {
        const { server } = await serverAnswering(answer);
        const error = await refreshTokens({ server, client, refreshToken, http }).then(() => assert.fail('refreshed'), (e: unknown) => e);
        assert.ok(error instanceof TokenRequestError, String(error));
        assert.equal(error.kind, kind, error.message);
        assert.doesNotMatch(error.message, /rt-old-secret-value|client-secret/);
      });
    }

    it('classifies an unreachable server and a silent one as transient', async () => {
      const gone = await mockServer();
      await gone.close();
      const unreachable = { issuer: gone.origin, token_endpoint: `${gone.origin}/token` };
      await assert.rejects(refreshTokens({ server: unreachable, client, refreshToken, http }), (error: unknown) => error instanceof TokenRequestError && error.kind === 'transient');
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      servers.push({
        close: () => {
          silent.closeAllConnections();
          return new Promise((resolve) => silent.close(() => resolve()));
        },
      });
      const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const stalled = { issuer: origin, token_endpoint: `${origin}/token` };
      await assert.rejects(refreshTokens({ server: stalled, client, refreshToken, http: { ...http, timeoutMs: 200 } }), (error: unknown) => error instanceof TokenRequestError && error.kind === 'transient');
    });
  });

  describe('revocation', () => {
    it('posts the token with its type hint and the client authentication (RFC 7009)', async () => {
      const { as, server } = await serverAnswering();
      await revokeToken({ server, client: { ...client, authMethod: 'client_secret_post' }, token: refreshToken, tokenTypeHint: 'refresh_token', http });
      const [request] = as.requests.filter((r) => r.path === '/revoke');
      assert.equal(request!.form.get('token'), refreshToken);
      assert.equal(request!.form.get('token_type_hint'), 'refresh_token');
      assert.equal(request!.form.get('client_secret'), 'client-secret');
    });

    it('does nothing when the server has no revocation endpoint', async () => {
      const { as, server } = await serverAnswering(undefined, { revocation_endpoint: undefined });
      await revokeToken({ server, client, token: 'at', tokenTypeHint: 'access_token', http });
      assert.equal(as.requests.length, 0);
    });

    it('reports a refused revocation as a classified TokenRequestError', async () => {
      const { as, server } = await serverAnswering();
      as.route('POST', '/revoke', { status: 401, json: { error: 'invalid_client' } });
      await assert.rejects(revokeToken({ server, client, token: 'at', tokenTypeHint: 'access_token', http }), (error: unknown) => {
        assert.ok(error instanceof TokenRequestError);
        assert.equal(error.kind, 'invalid_client');
        assert.match(error.message, /^the revocation endpoint at /);
        return true;
      });
    });
  });
});
