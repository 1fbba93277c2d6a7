import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keyedHasher } from '../../src/crypto/keyed-hash.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { issueInitialAccessToken, registrationLimits } from '../../src/oauth/registration-limits.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends, openTestStore } from '../helpers/backends.js';
import { assertOAuthError, register } from './registration-client.js';

const DAY = 24 * 3600 * 1000;
const hasher = keyedHasher([{ version: 1, key: Buffer.alloc(32, 7) }]);
const client = { redirect_uris: ['https://app.example.com/cb'] };

async function refusalOf(work: Promise<unknown>): Promise<OAuthError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof OAuthError, String(error));
    return error;
  }
  assert.fail('not refused');
}

for (const backend of backends) {
  describe(`registration limits on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(backend);
    });
    after(() => store.close());

    const limitsWith = (perIp: number, total: number, fetchesPerIpPerHour = 1000) =>
      registrationLimits({
        rateWindows: store.rateWindows,
        initialAccessTokens: store.initialAccessTokens,
        hasher,
        oauth: { registrationsPerIpPerDay: perIp, registrationsPerDay: total, metadataDocumentFetchesPerIpPerHour: fetchesPerIpPerHour },
      });

    it('caps registrations per client address per UTC day, with Retry-After until the day ends', async () => {
      const limits = limitsWith(2, 1000);
      const noon = Date.UTC(2030, 0, 10, 12, 0, 0);
      await limits.countRegistration('198.51.100.1', noon);
      await limits.countRegistration('198.51.100.1', noon + 1000);
      const refused = await refusalOf(limits.countRegistration('198.51.100.1', noon + 2000));
      assert.equal(refused.status, 429);
      assert.equal(refused.error, 'invalid_request');
      assert.match(refused.description, /registration limit reached/);
      assert.equal(refused.headers['retry-after'], String(12 * 3600 - 2));
      // Another address has its own allowance; the next day starts afresh.
      await limits.countRegistration('198.51.100.2', noon + 3000);
      await limits.countRegistration('198.51.100.1', Date.UTC(2030, 0, 11, 0, 0, 0));
    });

    it('caps registrations overall per day, whatever the address', async () => {
      const limits = limitsWith(100, 3);
      const at = Date.UTC(2030, 5, 1, 23, 59, 0);
      for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) await limits.countRegistration(ip, at);
      const refused = await refusalOf(limits.countRegistration('192.0.2.4', at));
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['retry-after'], '60');
    });

    it('an address over its own cap does not use up the overall allowance', async () => {
      const limits = limitsWith(1, 2);
      const at = Date.UTC(2030, 7, 1, 8);
      await limits.countRegistration('192.0.2.10', at);
      for (let i = 0; i < 5; i++) await refusalOf(limits.countRegistration('192.0.2.10', at));
      await limits.countRegistration('192.0.2.11', at);
    });

    it('spends an initial access token once, and never an expired, revoked or unknown one', async () => {
      const limits = limitsWith(100, 100);
      const now = Date.UTC(2030, 1, 1);
      const issued = await issueInitialAccessToken({ initialAccessTokens: store.initialAccessTokens, hasher }, { createdBy: null, now });
      assert.match(issued.token, /^gth_iat_/);
      assert.equal(issued.expiresAt, now + DAY, 'lives 24 hours by default');
      const [row] = (await store.initialAccessTokens.list()).filter((r) => r.id === issued.id);
      assert.equal(row?.tokenHash, hasher.hash(issued.token));

      await limits.spendInitialAccessToken(`Bearer ${issued.token}`, now + 1);
      const reused = await refusalOf(limits.spendInitialAccessToken(`Bearer ${issued.token}`, now + 2));
      assert.equal(reused.status, 401);
      assert.equal(reused.error, 'invalid_token');

      const short = await issueInitialAccessToken({ initialAccessTokens: store.initialAccessTokens, hasher }, { createdBy: null, expiresInSeconds: 60, now });
      assert.equal((await refusalOf(limits.spendInitialAccessToken(`Bearer ${short.token}`, now + 60_000))).error, 'invalid_token');

      const revoked = await issueInitialAccessToken({ initialAccessTokens: store.initialAccessTokens, hasher }, { createdBy: null, now });
      await store.initialAccessTokens.revoke(revoked.id, now);
      assert.equal((await refusalOf(limits.spendInitialAccessToken(`Bearer ${revoked.token}`, now + 1))).error, 'invalid_token');

      for (const header of [undefined, 'Bearer gth_iat_unknown', `Basic ${issued.token}`]) {
        assert.equal((await refusalOf(limits.spendInitialAccessToken(header, now + 1))).error, 'invalid_token');
      }
    });

    it('lets exactly one of several concurrent registrations spend a token', async () => {
      const limits = limitsWith(100, 100);
      const now = Date.UTC(2030, 2, 1);
      const { token } = await issueInitialAccessToken({ initialAccessTokens: store.initialAccessTokens, hasher }, { createdBy: null, now });
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => limits.spendInitialAccessToken(`Bearer ${token}`, now + 1)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    });
  });
}

describe('registration caps over http', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { oauth: { registrationsPerIpPerDay: 2, registrationsPerDay: 3 } } });
  });
  after(() => t.close());

  it('answers 429 with Retry-After past the per-address cap, while another address still registers, until the overall cap', async () => {
    const from = (remoteAddress: string) => register(t, client, { remoteAddress });
    assert.equal((await from('198.51.100.20')).statusCode, 201);
    assert.equal((await from('198.51.100.20')).statusCode, 201);
    const refused = await from('198.51.100.20');
    assertOAuthError(refused, 429, 'invalid_request', /registration limit reached/);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 86_400, String(refused.headers['retry-after']));
    assert.equal((await from('198.51.100.21')).statusCode, 201, 'another address is not blocked');
    assertOAuthError(await from('198.51.100.22'), 429, 'invalid_request', /for this server/);
    assert.equal((await t.runtime.store.clients.list()).length, 3);
  });

  it('checks the metadata before the caps, so a malformed request learns what is wrong rather than to wait', async () => {
    assertOAuthError(await register(t, client, { remoteAddress: '198.51.100.30' }), 429, 'invalid_request');
    const res = await register(t, { redirect_uris: ['http://evil.example/cb'] }, { remoteAddress: '198.51.100.30' });
    assertOAuthError(res, 400, 'invalid_redirect_uri');
  });
});

describe('the strict registration policy over http', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { oauth: { registrationPolicy: 'strict' } } });
  });
  after(() => t.close());

  it('accepts https and http://127.0.0.1 redirects, with the default scope', async () => {
    const res = await register(t, { redirect_uris: ['https://app.example.com/cb', 'http://127.0.0.1:33418/'], scope: 'mcp:read' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().scope, 'mcp:read mcp:write');
    assert.equal(res.json().token_endpoint_auth_method, 'none');
  });

  it('refuses localhost and custom-scheme redirects, naming them', async () => {
    assertOAuthError(await register(t, { redirect_uris: ['http://localhost:54321/callback'] }), 400, 'invalid_redirect_uri', /localhost:54321/);
    assertOAuthError(await register(t, { redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'] }), 400, 'invalid_redirect_uri', /cursor:/);
  });

  it('refuses a client asking for a secret', async () => {
    const res = await register(t, { ...client, token_endpoint_auth_method: 'client_secret_basic' });
    assertOAuthError(res, 400, 'invalid_client_metadata', /public clients only/);
  });
});

describe('the closed registration policy over http', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { oauth: { registrationPolicy: 'closed' } } });
  });
  after(() => t.close());

  const issue = () => issueInitialAccessToken({ initialAccessTokens: t.runtime.store.initialAccessTokens, hasher: t.runtime.keys.tokenHasher }, { createdBy: null, now: Date.now() });

  it('refuses a registration without an initial access token, on both paths', async () => {
    for (const url of ['/oauth/register', '/api/oauth/per-user/register']) {
      const res = await register(t, client, { url });
      assertOAuthError(res, 401, 'invalid_token', /initial access token/);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    assert.equal((await t.runtime.store.clients.list()).length, 0);
  });

  it('registers with an initial access token, which then cannot be used again', async () => {
    const { token } = await issue();
    const first = await register(t, client, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(first.statusCode, 201, first.body);
    const again = await register(t, client, { headers: { authorization: `Bearer ${token}` } });
    assertOAuthError(again, 401, 'invalid_token');
  });
});
