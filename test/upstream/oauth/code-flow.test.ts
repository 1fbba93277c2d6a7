import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AuthorizationServer } from 'oauth4webapi';
import { finishAuthorization, startAuthorization } from '../../../src/upstream/oauth/code-flow.js';
import { OAuthSetupError, TokenRequestError, type ClientCredentials, type OutboundHttpOptions } from '../../../src/upstream/oauth/types.js';
import { authorizationServer, s256, type MockAuthorizationServer } from './mock-authorization-server.js';

const http: OutboundHttpOptions = { allowPrivateNetworks: true, timeoutMs: 3000 };
const redirectUri = 'https://gatehouse.example/api/oauth/callback';
const resource = 'https://mcp.example/mcp';
const publicClient: ClientCredentials = { clientId: 'client-1', authMethod: 'none', source: 'dynamic' };

describe('the authorization code flow with an upstream authorization server', () => {
  const servers: MockAuthorizationServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serverWith = async (metadata: Record<string, unknown> = {}) => {
    const as = await authorizationServer({ metadata });
    servers.push(as);
    return { as, server: as.metadata as unknown as AuthorizationServer };
  };

  /** The redirect back from the authorization server, with `extra` parameters. */
  const callback = (state: string, extra: Record<string, string>) => {
    const url = new URL(redirectUri);
    url.searchParams.set('state', state);
    for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
    return url.href;
  };

  describe('starting', () => {
    it('builds the authorization URL with PKCE S256, state, scope and resource', async () => {
      const { server } = await serverWith();
      const started = await startAuthorization({ server, client: publicClient, redirectUri, resource, scope: 'files:read' });
      const url = new URL(started.url);
      assert.equal(`${url.origin}${url.pathname}`, server.authorization_endpoint);
      assert.deepEqual(Object.fromEntries(url.searchParams), {
        response_type: 'code',
        client_id: 'client-1',
        redirect_uri: redirectUri,
        code_challenge: s256(started.codeVerifier),
        code_challenge_method: 'S256',
        state: started.state,
        scope: 'files:read',
        resource,
      });
      const again = await startAuthorization({ server, client: publicClient, redirectUri });
      assert.notEqual(again.state, started.state);
      assert.notEqual(again.codeVerifier, started.codeVerifier);
    });

    it('omits scope and resource when there are none', async () => {
      const { server } = await serverWith({ scopes_supported: ['offline_access'] });
      const url = new URL((await startAuthorization({ server, client: publicClient, redirectUri })).url);
      assert.equal(url.searchParams.has('scope'), false);
      assert.equal(url.searchParams.has('resource'), false);
    });

    it('adds offline_access only when the server lists it', async () => {
      const listing = (await serverWith({ scopes_supported: ['files:read', 'offline_access'] })).server;
      const silent = (await serverWith({ scopes_supported: ['files:read'] })).server;
      const scopeOf = async (server: AuthorizationServer, scope: string) => new URL((await startAuthorization({ server, client: publicClient, redirectUri, scope })).url).searchParams.get('scope');
      assert.equal(await scopeOf(listing, 'files:read'), 'files:read offline_access');
      assert.equal(await scopeOf(listing, 'offline_access files:read'), 'offline_access files:read');
      assert.equal(await scopeOf(silent, 'files:read'), 'files:read');
    });

    it('refuses an authorization endpoint that is not http(s)', async () => {
      const { server } = await serverWith({ authorization_endpoint: 'javascript:alert(1)' });
      await assert.rejects(startAuthorization({ server, client: publicClient, redirectUri }), OAuthSetupError);
    });
  });

  describe('finishing', () => {
    async function flow(metadata: Record<string, unknown>, client: ClientCredentials = publicClient) {
      const { as, server } = await serverWith(metadata);
      const started = await startAuthorization({ server, client, redirectUri, resource });
      const finish = (extra: Record<string, string>, state = started.state) =>
        finishAuthorization({ server, client, redirectUri, callbackUrl: callback(state, extra), expectedState: started.state, codeVerifier: started.codeVerifier, resource, http });
      return { as, server, started, finish };
    }

    it('redeems the code with the PKCE verifier that matches the challenge, the redirect URI and the resource', async () => {
      const { as, started, finish } = await flow({ authorization_response_iss_parameter_supported: true });
      const tokens = await finish({ code: 'code-1', iss: as.issuer });
      assert.equal(tokens.accessToken, 'at-1');
      assert.equal(tokens.refreshToken, 'rt-1');
      assert.equal(tokens.tokenType, 'bearer');
      assert.ok(tokens.expiresAt! > Date.now() + 3500_000);
      const [request] = as.tokenRequests();
      assert.equal(request!.form.get('grant_type'), 'authorization_code');
      assert.equal(request!.form.get('code'), 'code-1');
      assert.equal(request!.form.get('redirect_uri'), redirectUri);
      assert.equal(request!.form.get('resource'), resource);
      assert.equal(request!.form.get('client_id'), 'client-1');
      assert.equal(s256(request!.form.get('code_verifier')!), new URL(started.url).searchParams.get('code_challenge'));
    });

    it('authenticates a confidential client by Basic or in the body, per its method', async () => {
      const basic = await flow({}, { clientId: 'conf', clientSecret: 's3cret', authMethod: 'client_secret_basic', source: 'configured' });
      await basic.finish({ code: 'c' });
      assert.equal(basic.as.tokenRequests()[0]!.headers.authorization, `Basic ${Buffer.from('conf:s3cret').toString('base64')}`);
      const post = await flow({}, { clientId: 'conf', clientSecret: 's3cret', authMethod: 'client_secret_post', source: 'configured' });
      await post.finish({ code: 'c' });
      assert.equal(post.as.tokenRequests()[0]!.form.get('client_secret'), 's3cret');
      assert.equal(post.as.tokenRequests()[0]!.headers.authorization, undefined);
    });

    async function refusal(promise: Promise<unknown>): Promise<OAuthSetupError> {
      const error = await promise.then(() => assert.fail('the response was accepted'), (e: unknown) => e);
      assert.ok(error instanceof OAuthSetupError, String(error));
      assert.equal(error.step, 'authorization_response');
      return error;
    }

    it('refuses a wrong iss whether or not the server advertises iss, and a trailing-slash variant, before any token request', async () => {
      for (const advertised of [true, undefined]) {
        const { as, finish } = await flow({ authorization_response_iss_parameter_supported: advertised });
        const error = await refusal(finish({ code: 'c', iss: 'https://evil.example.com' }));
        assert.match(error.message, /names issuer "https:\/\/evil\.example\.com", not the authorization server's/);
        await refusal(finish({ code: 'c', iss: `${as.issuer}/` }));
        assert.equal(as.tokenRequests().length, 0);
      }
    });

    it('refuses a missing iss when the server advertises it, and accepts one it never promised', async () => {
      const advertised = await flow({ authorization_response_iss_parameter_supported: true });
      assert.match((await refusal(advertised.finish({ code: 'c' }))).message, /has no iss/);
      assert.equal(advertised.as.tokenRequests().length, 0);
      const silent = await flow({});
      assert.equal((await silent.finish({ code: 'c' })).accessToken, 'at-1');
    });

    it('refuses an error response and a foreign state', async () => {
      const { as, finish } = await flow({});
      assert.match((await refusal(finish({ error: 'access_denied', error_description: 'the user said no', iss: as.issuer }))).message, /"access_denied": the user said no/);
      await refusal(finish({ code: 'c' }, 'another-state'));
      assert.equal(as.tokenRequests().length, 0);
    });

    it('reports a refused code exchange as a TokenRequestError', async () => {
      const { as, finish } = await flow({});
      as.route('POST', '/token', { status: 400, json: { error: 'invalid_grant' } });
      await assert.rejects(finish({ code: 'used' }), (error: unknown) => error instanceof TokenRequestError && error.kind === 'invalid_grant');
    });
  });
});
