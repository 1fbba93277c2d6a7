import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { authorizeHeadlessly } from '../helpers/headless-consent.js';

/** oauth4webapi refuses plain http unless told; the test server is on loopback. */
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const REDIRECT_URI = 'http://127.0.0.1:38101/callback';

describe('oauth4webapi (an independent OAuth client) against a running gatehouse serve', () => {
  let gatehouse: GatehouseChild;
  let issuer: URL;
  let resource: string;
  let as: oauth.AuthorizationServer;

  before(async () => {
    gatehouse = await startGatehouseChild();
    issuer = new URL(gatehouse.url);
    resource = `${gatehouse.url}/mcp`;
    // processDiscoveryResponse refuses metadata whose issuer is not byte-identical to the one asked for.
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  after(async () => {
    await gatehouse?.stop();
  });

  async function register(authMethod: 'none' | 'client_secret_basic'): Promise<{ client: oauth.Client; clientAuth: oauth.ClientAuth }> {
    const response = await oauth.dynamicClientRegistrationRequest(as, {
      client_name: `oauth4webapi e2e (${authMethod})`,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: authMethod,
    }, insecure);
    const registered = await oauth.processDynamicClientRegistrationResponse(response);
    const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: authMethod };
    if (authMethod === 'none') return { client, clientAuth: oauth.None() };
    assert.equal(typeof registered.client_secret, 'string', 'a confidential client gets its secret once');
    return { client, clientAuth: oauth.ClientSecretBasic(registered.client_secret as string) };
  }

  /** PKCE S256 authorization through the headless sign-in and consent, then the code exchange. */
  async function authorizeAndExchange(client: oauth.Client, clientAuth: oauth.ClientAuth) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint!);
    authorizationUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      scope: 'mcp:read mcp:write',
      resource,
      state,
    }).toString();

    const response = await authorizeHeadlessly(authorizationUrl, { credentials: { username: 'admin', password: CHILD_ADMIN_PASSWORD } });
    // Checks state, refuses an error response, and (the metadata advertises RFC 9207) requires iss === issuer.
    const callbackParameters = oauth.validateAuthResponse(as, client, new URL(response.location), state);

    const tokenResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callbackParameters, REDIRECT_URI, codeVerifier, {
      additionalParameters: { resource },
      ...insecure,
    });
    assert.equal(tokenResponse.headers.get('cache-control'), 'no-store');
    return oauth.processAuthorizationCodeResponse(as, client, tokenResponse);
  }

  async function refresh(client: oauth.Client, clientAuth: oauth.ClientAuth, refreshToken: string) {
    const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, { additionalParameters: { resource }, ...insecure });
    return oauth.processRefreshTokenResponse(as, client, response);
  }

  async function expectInvalidGrant(promise: Promise<unknown>) {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, `expected an OAuth error response, got ${String(error)}`);
      assert.equal(error.error, 'invalid_grant');
      return true;
    });
  }

  it('discovery advertises what an MCP client needs, with the issuer byte-identical to the public URL', () => {
    assert.equal(as.issuer, gatehouse.url);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    for (const endpoint of ['registration_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'jwks_uri'] as const) {
      assert.ok(as[endpoint]?.startsWith(`${gatehouse.url}/`), `${endpoint} is served by the issuer`);
    }
  });

  it('a public client registers, is authorized with PKCE and iss, exchanges the code, rotates its refresh token and revokes it', async () => {
    const { client, clientAuth } = await register('none');
    const tokens = await authorizeAndExchange(client, clientAuth);
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.refresh_token);
    assert.ok((tokens.expires_in ?? 0) > 0);

    const refreshed = await refresh(client, clientAuth, tokens.refresh_token);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotated');

    const revocation = await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token, insecure);
    await oauth.processRevocationResponse(revocation);
    await expectInvalidGrant(refresh(client, clientAuth, refreshed.refresh_token));
  });

  it('a confidential client (client_secret_basic) introspects its tokens: active while the grant lives, inactive once revoked', async () => {
    const { client, clientAuth } = await register('client_secret_basic');
    const tokens = await authorizeAndExchange(client, clientAuth);
    const refreshed = await refresh(client, clientAuth, tokens.refresh_token!);

    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, token, insecure));
    const live = await introspect(refreshed.access_token);
    assert.equal(live.active, true);
    assert.equal(live.client_id, client.client_id);
    assert.equal(live.aud === resource || (Array.isArray(live.aud) && live.aud.includes(resource)), true, `aud is ${String(live.aud)}`);

    // Revoking the access token revokes its grant (RFC 7009 as DESIGN.md states it): both tokens stop at once.
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.access_token, insecure));
    assert.equal((await introspect(refreshed.access_token)).active, false);
    assert.equal((await introspect(refreshed.refresh_token!)).active, false);
    await expectInvalidGrant(refresh(client, clientAuth, refreshed.refresh_token!));
  });
});
