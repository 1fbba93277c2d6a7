import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { allowInsecureRequests, customFetch } from 'oauth4webapi';
import { GuardedFetchError } from '../../../src/net/guarded-fetch.js';
import { OUTBOUND_MAX_BYTES, oauthRequestOptions, outboundFetch } from '../../../src/upstream/oauth/outbound-fetch.js';
import { mockServer, type MockServer } from './mock-authorization-server.js';

describe('the outbound OAuth fetch', () => {
  const servers: MockServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serve = async () => {
    const server = await mockServer();
    servers.push(server);
    return server;
  };

  async function refusal(promise: Promise<unknown>): Promise<GuardedFetchError> {
    const error = await promise.then(() => assert.fail('fetched'), (e: unknown) => e);
    assert.ok(error instanceof GuardedFetchError, String(error));
    return error;
  }

  it('posts a form and answers a 400 as a Response with its JSON body and headers, as oauth4webapi needs', async () => {
    const server = await serve();
    server.route('POST', '/token', { status: 400, headers: { 'cache-control': 'no-store' }, json: { error: 'invalid_grant' } });
    const fetch = outboundFetch({ allowPrivateNetworks: true });
    const response = await fetch(`${server.origin}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token' }), redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await response.json(), { error: 'invalid_grant' });
    assert.equal(response.url, `${server.origin}/token`);
    assert.equal(server.requests[0]!.body, 'grant_type=refresh_token');
  });

  it('answers a redirect unfollowed under redirect: manual', async () => {
    const server = await serve();
    server.route('GET', '/moved', { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    const response = await outboundFetch({ allowPrivateNetworks: true })(`${server.origin}/moved`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'http://127.0.0.1:1/elsewhere');
  });

  it('refuses private addresses and plain http without allowPrivateNetworks', async () => {
    const server = await serve();
    assert.equal((await refusal(outboundFetch({ allowPrivateNetworks: false })(`${server.origin}/x`))).reason, 'bad_scheme');
    const internal = outboundFetch({ allowPrivateNetworks: false, fetchOptions: { resolveHost: async () => ['192.168.1.10'] } });
    assert.equal((await refusal(internal('https://token.internal.test/token'))).reason, 'blocked_address');
    assert.equal(server.requests.length, 0);
  });

  it('reaches a trusted origin (the admin\'s upstream) on a private address over http', async () => {
    const server = await serve();
    server.route('GET', '/.well-known/oauth-protected-resource', { json: { ok: true } });
    const fetch = outboundFetch({ allowPrivateNetworks: false, trustedOrigins: [server.origin] });
    assert.equal((await fetch(`${server.origin}/.well-known/oauth-protected-resource`)).status, 200);
  });

  it("does not carry a trusted origin's exemption through its redirect to another host", async () => {
    const server = await serve();
    server.route('GET', '/.well-known/oauth-protected-resource', { status: 302, headers: { location: 'https://metadata.internal.test/latest' } });
    const fetch = outboundFetch({ allowPrivateNetworks: false, trustedOrigins: [server.origin], fetchOptions: { resolveHost: async () => ['169.254.169.254'] } });
    assert.equal((await refusal(fetch(`${server.origin}/.well-known/oauth-protected-resource`))).reason, 'blocked_address');
  });

  it('bounds the size of an answer', async () => {
    const server = await serve();
    server.route('GET', '/big', { body: 'x'.repeat(OUTBOUND_MAX_BYTES + 1) });
    assert.equal((await refusal(outboundFetch({ allowPrivateNetworks: true })(`${server.origin}/big`))).reason, 'too_large');
  });

  it('gives oauth4webapi the guarded fetch, and permits http endpoints only with allowPrivateNetworks', () => {
    const strict = oauthRequestOptions({ allowPrivateNetworks: false });
    assert.equal(typeof strict[customFetch], 'function');
    assert.equal(strict[allowInsecureRequests], undefined);
    assert.equal(oauthRequestOptions({ allowPrivateNetworks: true })[allowInsecureRequests], true);
  });
});
