import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { assertOAuthError, createClient, issueCode, postToken, REDIRECT_URI, type IssuedCode } from './token-fixtures.js';

/** A secret with characters RFC 6749 §2.3.1 form-encodes: ':' '+' '/' '%' ' ' '&' and a non-ASCII letter. */
const AWKWARD_SECRET = 'gth_cs_a:b+c/d%25e f&g=hé';

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
}

function codeFields(issued: IssuedCode): Record<string, string> {
  return { grant_type: 'authorization_code', code: issued.code, code_verifier: issued.verifier, redirect_uri: REDIRECT_URI };
}

for (const backend of backends) {
  describe(`POST /oauth/token requests and client authentication on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    it('a JSON body is refused with invalid_request', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ ...codeFields(issued), client_id: client.clientId }),
      });
      assertOAuthError(res, 'invalid_request');
      assert.equal((await postToken(t, { ...codeFields(issued), client_id: client.clientId })).statusCode, 200, 'the code was not spent');
    });

    it('a duplicated parameter is refused with invalid_request', async () => {
      const client = await createClient(t);
      const issued = await issueCode(t, client);
      const fields = new URLSearchParams({ ...codeFields(issued), client_id: client.clientId });
      fields.append('code_verifier', issued.verifier);
      assertOAuthError(await postToken(t, fields.toString()), 'invalid_request');
      const twice = new URLSearchParams({ ...codeFields(issued), client_id: client.clientId });
      twice.append('grant_type', 'authorization_code');
      assertOAuthError(await postToken(t, twice.toString()), 'invalid_request');
    });

    it('a missing grant_type or code is invalid_request, an unknown grant_type is unsupported_grant_type', async () => {
      const client = await createClient(t);
      assertOAuthError(await postToken(t, { client_id: client.clientId }), 'invalid_request');
      assertOAuthError(await postToken(t, { grant_type: 'authorization_code', client_id: client.clientId, redirect_uri: REDIRECT_URI, code_verifier: 'x'.repeat(43) }), 'invalid_request');
      assertOAuthError(await postToken(t, { grant_type: 'password', client_id: client.clientId, username: 'admin', password: 'x' }), 'unsupported_grant_type');
      assertOAuthError(await postToken(t, { grant_type: 'toString', client_id: client.clientId }), 'unsupported_grant_type');
    });

    it('a grant the client did not register for is unauthorized_client', async () => {
      const client = await createClient(t, { grantTypes: ['authorization_code'] });
      assertOAuthError(await postToken(t, { grant_type: 'refresh_token', refresh_token: `gth_rt_${'A'.repeat(43)}`, client_id: client.clientId }), 'unauthorized_client');
    });

    it('an unknown client_id is invalid_client with 401', async () => {
      assertOAuthError(await postToken(t, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'cli_unknown' }), 'invalid_client', 401);
    });

    it('a confidential client authenticates with client_secret_basic, its secret form-encoded or sent raw', async () => {
      const client = await createClient(t, { authMethod: 'client_secret_basic', secret: AWKWARD_SECRET });
      const encoded = await postToken(t, codeFields(await issueCode(t, client)), { authorization: basic(formEncode(client.clientId), formEncode(AWKWARD_SECRET)) });
      assert.equal(encoded.statusCode, 200, encoded.body);
      const raw = await postToken(t, codeFields(await issueCode(t, client)), { authorization: basic(client.clientId, AWKWARD_SECRET) });
      assert.equal(raw.statusCode, 200, raw.body);
    });

    it('a confidential client authenticates with client_secret_post', async () => {
      const client = await createClient(t, { authMethod: 'client_secret_post', secret: AWKWARD_SECRET });
      const res = await postToken(t, { ...codeFields(await issueCode(t, client)), client_id: client.clientId, client_secret: AWKWARD_SECRET });
      assert.equal(res.statusCode, 200, res.body);
    });

    it('a wrong secret is 401 invalid_client with WWW-Authenticate, and the code stays unspent', async () => {
      const client = await createClient(t, { authMethod: 'client_secret_basic', secret: AWKWARD_SECRET });
      const issued = await issueCode(t, client);
      const res = await postToken(t, codeFields(issued), { authorization: basic(client.clientId, `${AWKWARD_SECRET}x`) });
      assertOAuthError(res, 'invalid_client', 401);
      assert.match(res.headers['www-authenticate'] as string, /^Basic /);
      assertOAuthError(await postToken(t, { ...codeFields(issued), client_id: client.clientId }), 'invalid_client', 401);
      assert.equal((await postToken(t, codeFields(issued), { authorization: basic(client.clientId, AWKWARD_SECRET) })).statusCode, 200);
    });

    it('answers carry CORS headers and no-store, and a preflight is answered', async () => {
      const client = await createClient(t);
      const res = await postToken(t, { ...codeFields(await issueCode(t, client)), client_id: client.clientId }, { origin: 'https://inspector.example' });
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['cache-control'], 'no-store');
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/oauth/token',
        headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(preflight.statusCode, 204);
      assert.match(preflight.headers['access-control-allow-headers'] as string, /Authorization/);
      assert.equal(preflight.headers['cache-control'], 'no-store');
    });
  });
}
