import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { startCompanyIdp, type CompanyIdp } from '../fixtures/sso/company-idp.js';
import { basicAuth, type TestApp } from '../helpers/app.js';
import { startAppWithCompanyIdp } from '../helpers/company-sign-in.js';
import { connectWithToken } from '../helpers/mcp-session.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ID_JAG_TYP = 'oauth-id-jag+jwt';

interface RegisteredClient {
  client_id: string;
  client_secret?: string;
}

describe('ID-JAG (Enterprise-Managed Authorization) at /oauth/token', () => {
  let t: TestApp;
  let idp: CompanyIdp;
  /** Another company IdP, configured for sign-in but not trusted for ID-JAG. */
  let untrustedIdp: CompanyIdp;
  let close: () => Promise<void>;
  let client: RegisteredClient;
  let otherClient: RegisteredClient;

  const register = async (metadata: Record<string, unknown>): Promise<RegisteredClient> => {
    const response = await fetch(`${t.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/callback'], ...metadata }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as RegisteredClient;
  };
  const confidential = () => register({ grant_types: ['authorization_code', JWT_BEARER], token_endpoint_auth_method: 'client_secret_basic' });

  before(async () => {
    untrustedIdp = await startCompanyIdp({ redirectUri: 'http://127.0.0.1:9/unused', accounts: {} });
    ({ t, idp, close } = await startAppWithCompanyIdp({
      accounts: { 'sub-alice': { preferred_username: 'alice', groups: ['staff'] } },
      provider: { trust_id_jag: true, allowed_groups: ['staff'] },
      extraProviders: () => [{ id: 'plain', name: 'Plain', issuer: untrustedIdp.issuer, client_id: 'x', client_secret: 'y' }],
    }));
    client = await confidential();
    otherClient = await confidential();
  });
  after(async () => {
    await close();
    await untrustedIdp.close();
  });

  /** The claims of an ID-JAG the trusted IdP issues to `client` for Alice, with `changes` applied. */
  const claims = (changes: JWTPayload = {}): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: idp.issuer,
      sub: 'sub-alice',
      aud: t.url,
      client_id: client.client_id,
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      resource: `${t.url}/mcp`,
      scope: 'mcp:read mcp:write',
      preferred_username: 'alice',
      groups: ['staff'],
      ...changes,
    };
  };
  const redeem = async (assertion: string, by: RegisteredClient = client, extra: Record<string, string> = {}) => {
    const response = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(by.client_id, by.client_secret ?? '') },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion, resource: `${t.url}/mcp`, ...extra }).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const assertRefused = async (answer: { status: number; body: Record<string, unknown> }, description: RegExp) => {
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'invalid_grant');
    assert.match(String(answer.body.error_description), description);
    assert.equal(answer.body.access_token, undefined);
  };

  it('advertises the JWT bearer grant in the authorization server metadata', async () => {
    const metadata = await (await fetch(`${t.url}/.well-known/oauth-authorization-server`)).json();
    assert.ok(metadata.grant_types_supported.includes(JWT_BEARER));
  });

  it('an ID-JAG of the trusted IdP gets an access token for the person keyed by (issuer, sub), which works at /mcp with the SDK client', async () => {
    const answer = await redeem(await idp.sign(claims(), { typ: ID_JAG_TYP }));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.token_type, 'Bearer');
    assert.equal(answer.body.scope, 'mcp:read mcp:write');
    assert.equal(answer.body.refresh_token, undefined, 'no refresh token: the client asks its IdP for a new assertion');
    const alice = (await t.runtime.store.users.findByExternalIdentity(idp.issuer, 'sub-alice'))!;
    assert.deepEqual([alice.username, alice.source, alice.groups], ['alice', 'sso:acme', ['staff']]);

    const { client: mcp } = await connectWithToken(`${t.url}/mcp`, String(answer.body.access_token));
    assert.ok((await mcp.listTools()).tools.length > 0);
    await mcp.close();
    const grants = await t.runtime.store.grants.list({ userId: alice.id, clientId: client.client_id });
    assert.equal(grants.length, 1, 'the token stands on a grant of Alice and the client, revocable as any');
  });

  it('refuses an assertion signed with a key the IdP never published', async () => {
    await assertRefused(await redeem(await idp.sign(claims(), { typ: ID_JAG_TYP, foreignKey: true })), /signature/);
  });

  it('refuses an assertion whose issuer is not the IdP that signed it', async () => {
    await assertRefused(await redeem(await idp.sign(claims({ iss: `${idp.issuer}/other` }), { typ: ID_JAG_TYP })), /not from an issuer trusted/);
  });

  it('refuses an assertion of a configured IdP that is not trusted for ID-JAG, though validly signed by it', async () => {
    await assertRefused(await redeem(await untrustedIdp.sign(claims({ iss: untrustedIdp.issuer }), { typ: ID_JAG_TYP })), /not from an issuer trusted/);
  });

  it('refuses an assertion for another audience', async () => {
    await assertRefused(await redeem(await idp.sign(claims({ aud: 'https://other-as.example' }), { typ: ID_JAG_TYP })), /aud/);
  });

  it('refuses an expired assertion', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await assertRefused(await redeem(await idp.sign(claims({ iat: past - 300, exp: past }), { typ: ID_JAG_TYP })), /expired/);
  });

  it('refuses a replayed assertion (same jti), even when the first use succeeded', async () => {
    const assertion = await idp.sign(claims(), { typ: ID_JAG_TYP });
    assert.equal((await redeem(assertion)).status, 200);
    await assertRefused(await redeem(assertion), /already used/);
  });

  it('refuses an assertion presented by a client other than the one it was issued to', async () => {
    await assertRefused(await redeem(await idp.sign(claims(), { typ: ID_JAG_TYP }), otherClient), /another client/);
  });

  it('refuses a JWT of the IdP that is not typed as an ID-JAG (an ID token, say)', async () => {
    await assertRefused(await redeem(await idp.sign(claims(), { typ: 'JWT' })), /typ/);
  });

  it('refuses an assertion for another resource', async () => {
    await assertRefused(await redeem(await idp.sign(claims({ resource: 'https://elsewhere.example/mcp' }), { typ: ID_JAG_TYP })), /another resource/);
  });

  it('refuses a person outside allowed_groups, and creates no account', async () => {
    await assertRefused(await redeem(await idp.sign(claims({ sub: 'sub-mallory', preferred_username: 'mallory', groups: ['contractors'] }), { typ: ID_JAG_TYP })), /allowed groups/);
    assert.equal(await t.runtime.store.users.findByExternalIdentity(idp.issuer, 'sub-mallory'), undefined);
  });

  it('refuses a public client: its client id proves nothing', async () => {
    const publicClient = await register({ grant_types: ['authorization_code', JWT_BEARER], token_endpoint_auth_method: 'none' });
    const response = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: JWT_BEARER, client_id: publicClient.client_id, assertion: await idp.sign(claims({ client_id: publicClient.client_id }), { typ: ID_JAG_TYP }) }).toString(),
    });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error, 'unauthorized_client');
  });
});
