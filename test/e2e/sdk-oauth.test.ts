import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { InvalidGrantError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthClientInformationMixed } from '@modelcontextprotocol/sdk/shared/auth.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { HeadlessOAuthProvider } from '../helpers/mcp-session.js';

/** What the SDK sent on the wire, so the test can check how it authenticated and what it asked for. */
interface SeenRequest {
  url: string;
  authorization: string | null;
  body: URLSearchParams;
}

describe('the MCP SDK client\'s own OAuth (auth()) against a running gatehouse serve', () => {
  let gatehouse: GatehouseChild;
  let issuer: string;
  let resource: string;

  before(async () => {
    gatehouse = await startGatehouseChild();
    issuer = gatehouse.url;
    resource = `${issuer}/mcp`;
  });
  after(async () => {
    await gatehouse?.stop();
  });

  /** A fetch for the SDK that records every token-endpoint call. */
  function recordingFetch(seen: SeenRequest[]): typeof fetch {
    return async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith('/oauth/token')) {
        const headers = new Headers(init?.headers);
        seen.push({ url, authorization: headers.get('authorization'), body: new URLSearchParams(String(init?.body ?? '')) });
      }
      return fetch(input, init);
    };
  }

  async function verifyAccessToken(token: string, clientId: string) {
    const jwks = createRemoteJWKSet(new URL(`${issuer}/oauth/jwks`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience: resource, typ: 'at+jwt' });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.client_id, clientId);
    assert.equal(typeof payload.sub, 'string');
    assert.equal(typeof payload.jti, 'string');
    assert.equal(typeof payload.scope, 'string');
    return payload;
  }

  async function revoke(token: string, client: OAuthClientInformationMixed): Promise<Response> {
    const body = new URLSearchParams({ token, token_type_hint: 'refresh_token' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (client.client_secret) {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
    } else {
      body.set('client_id', client.client_id);
    }
    return fetch(`${issuer}/oauth/revoke`, { method: 'POST', headers, body });
  }

  /** Discovery, registration, headless sign-in and consent, code exchange, refresh, revocation: one client's life. */
  async function fullJourney(authMethod: 'none' | 'client_secret_basic') {
    const provider = new HeadlessOAuthProvider({ username: 'admin', password: CHILD_ADMIN_PASSWORD }, { clientName: `SDK e2e (${authMethod})`, callbackPort: authMethod === 'none' ? 38_001 : 38_002, authMethod });
    const seen: SeenRequest[] = [];
    const fetchFn = recordingFetch(seen);

    assert.equal(await auth(provider, { serverUrl: resource, fetchFn }), 'REDIRECT');
    const discovery = provider.discoveryState();
    assert.equal(discovery?.resourceMetadata?.resource, resource, 'the protected resource metadata names /mcp');
    assert.deepEqual(discovery?.resourceMetadata?.authorization_servers, [issuer]);
    assert.equal(discovery?.authorizationServerMetadata?.issuer, issuer);

    const client = provider.clientInformation();
    assert.ok(client?.client_id, 'the SDK registered a client');
    assert.equal(Boolean(client.client_secret), authMethod !== 'none', 'a secret is issued only to a confidential client');

    const authorizationUrl = provider.authorizationUrl!;
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizationUrl.searchParams.get('resource'), resource);
    const response = provider.authorizationResponse!;
    assert.equal(response.error, undefined, `authorization failed: ${response.location}`);
    assert.ok(response.code);
    assert.equal(response.state, provider.expectedState);
    assert.equal(response.iss, issuer, 'RFC 9207 iss on the authorization response');

    assert.equal(await auth(provider, { serverUrl: resource, authorizationCode: response.code, fetchFn }), 'AUTHORIZED');
    const first = provider.tokens()!;
    assert.equal(first.token_type.toLowerCase(), 'bearer');
    assert.ok(first.refresh_token, 'a refresh token is issued');
    await verifyAccessToken(first.access_token, client.client_id);

    const exchange = seen.at(-1)!;
    assert.equal(exchange.body.get('grant_type'), 'authorization_code');
    assert.equal(exchange.body.get('resource'), resource);
    if (authMethod === 'client_secret_basic') {
      assert.match(exchange.authorization ?? '', /^Basic /, 'the confidential client authenticated with HTTP Basic');
      assert.equal(exchange.body.get('client_secret'), null);
    } else {
      assert.equal(exchange.authorization, null);
      assert.equal(exchange.body.get('client_id'), client.client_id);
    }

    // With tokens saved, auth() refreshes: the refresh token rotates and a fresh access token verifies.
    assert.equal(await auth(provider, { serverUrl: resource, fetchFn }), 'AUTHORIZED');
    assert.equal(seen.at(-1)!.body.get('grant_type'), 'refresh_token');
    const second = provider.tokens()!;
    assert.ok(second.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token, 'the refresh token rotated');
    assert.notEqual(second.access_token, first.access_token);
    await verifyAccessToken(second.access_token, client.client_id);

    const revoked = await revoke(second.refresh_token, client);
    assert.equal(revoked.status, 200);

    await assert.rejects(
      refreshAuthorization(issuer, {
        metadata: discovery!.authorizationServerMetadata,
        clientInformation: client,
        refreshToken: second.refresh_token,
        resource,
      }),
      InvalidGrantError,
      'a revoked refresh token is refused with invalid_grant',
    );
  }

  it('a public client (token_endpoint_auth_method none) registers, signs in, consents, exchanges, refreshes and is revoked', async () => {
    await fullJourney('none');
  });

  it('a confidential client (client_secret_basic) goes through the same journey, authenticating with HTTP Basic', async () => {
    await fullJourney('client_secret_basic');
  });
});
