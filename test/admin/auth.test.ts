import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import pino from 'pino';
import { adminApi } from '../../src/admin/index.js';
import { passwordLogin } from '../../src/identity/login.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { ADMIN_AUTH, assertEnvelope, sendJson } from './api-client.js';

const UNAUTHORIZED = { status: 401, type: 'authentication_error', code: 'unauthorized' };
const FORBIDDEN = { status: 403, type: 'permission_error', code: 'forbidden' };

describe('/api authentication', () => {
  let t: TestApp;
  const logLines: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    t = await startTestApp({ logger: pino({ level: 'info' }, sink) });
    await t.runtime.users.create({ username: 'viewer', password: 'viewer-password' });
  });
  after(() => t.close());

  const newKey = async (username = 'admin') => {
    const res = await sendJson(t, 'POST', '/api/apikeys', { name: `key of ${username}`, username });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; key: string };
  };
  /** The throttle's clock stands still for the rest of this suite, so a block never runs out while a test runs. */
  const freezeLoginClock = () => {
    const frozen = Date.now();
    t.runtime.login = passwordLogin(t.runtime.store.users, t.runtime.store.loginFailures, t.config.loginThrottle, { now: () => frozen });
  };
  const listUsers = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/users', headers });

  it("an admin's username and password over HTTP Basic are accepted", async () => {
    const res = await listUsers(ADMIN_AUTH);
    assert.equal(res.statusCode, 200);
    assert.ok(res.json().users.some((user: { username: string }) => user.username === 'admin'));
  });

  it("an admin's API key is accepted as Bearer and as x-api-key", async () => {
    const { key } = await newKey();
    assert.equal((await listUsers({ authorization: `Bearer ${key}` })).statusCode, 200);
    assert.equal((await listUsers({ authorization: `bearer ${key}` })).statusCode, 200, 'the scheme is case-insensitive');
    assert.equal((await listUsers({ 'x-api-key': key })).statusCode, 200);
  });

  it('no credentials get 401 with the full envelope and a Basic challenge', async () => {
    const res = await listUsers({});
    assertEnvelope(res, UNAUTHORIZED);
    assert.match(String(res.headers['www-authenticate']), /^Basic realm="gatehouse"/);
  });

  it('a wrong password and an unknown user get the same 401', async () => {
    const wrong = await listUsers({ authorization: basicAuth('admin', 'not-the-password') });
    const unknown = await listUsers({ authorization: basicAuth('nobody', 'not-the-password') });
    assertEnvelope(wrong, UNAUTHORIZED);
    assertEnvelope(unknown, UNAUTHORIZED);
    assert.equal(wrong.json().error.message, unknown.json().error.message);
    assert.match(String(wrong.headers['www-authenticate']), /^Basic realm="gatehouse"/);
  });

  it('unknown keys, malformed Basic values and other schemes get 401', async () => {
    const { key } = await newKey();
    const bad: Record<string, string>[] = [
      { authorization: `Bearer ${key.slice(0, -2)}xx` },
      { 'x-api-key': 'gth_ak_not-a-key' },
      { authorization: 'Basic !!!' },
      { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` },
      { authorization: basicAuth('admin', 'x'.repeat(2000)) },
      { authorization: 'Digest username="admin"' },
      { authorization: 'Bearer' },
    ];
    for (const headers of bad) assertEnvelope(await listUsers(headers), UNAUTHORIZED);
  });

  it('a revoked key gets 401 on the very next request', async () => {
    const { id, key } = await newKey();
    assert.equal((await listUsers({ 'x-api-key': key })).statusCode, 200);
    assert.equal((await sendJson(t, 'DELETE', `/api/apikeys/${id}`)).statusCode, 204);
    assertEnvelope(await listUsers({ 'x-api-key': key }), UNAUTHORIZED);
    assertEnvelope(await listUsers({ authorization: `Bearer ${key}` }), UNAUTHORIZED);
  });

  it('a key of a disabled user gets 401', async () => {
    await t.runtime.users.create({ username: 'leaver', password: 'leaver-password', isAdmin: true });
    const { key } = await newKey('leaver');
    assert.equal((await listUsers({ 'x-api-key': key })).statusCode, 200);
    await t.runtime.users.disable('leaver');
    assertEnvelope(await listUsers({ 'x-api-key': key }), UNAUTHORIZED);
  });

  it("a user who is not an admin gets 403 with their password or their key", async () => {
    assertEnvelope(await listUsers({ authorization: basicAuth('viewer', 'viewer-password') }), FORBIDDEN);
    const { key } = await newKey('viewer');
    assertEnvelope(await listUsers({ authorization: `Bearer ${key}` }), FORBIDDEN);
    assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', { name: 'escalate' }, { 'x-api-key': key }), FORBIDDEN);
  });

  it('credentials are checked before the body is read: a bad body without credentials gets 401', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/users', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    assertEnvelope(res, UNAUTHORIZED);
  });

  it('Basic auth is throttled like the sign-in page: 429 with Retry-After, even with the right password', async () => {
    freezeLoginClock();
    await t.runtime.users.create({ username: 'target', password: 'target-password', isAdmin: true });
    const fromAttacker = (password: string) =>
      t.app.inject({ method: 'GET', url: '/api/users', remoteAddress: '203.0.113.50', headers: { authorization: basicAuth('target', password) } });
    for (let i = 0; i < t.config.loginThrottle.accountFreeFailures; i++) assertEnvelope(await fromAttacker('wrong-guess'), UNAUTHORIZED);
    const res = await fromAttacker('target-password');
    const body = assertEnvelope(res, { status: 429, type: 'rate_limit_error', code: 'too_many_attempts' });
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 3600, String(res.headers['retry-after']));
    assert.deepEqual(body.extra_fields, { retry_after_seconds: retryAfter });
  });

  it('parallel wrong Basic passwords: only the free attempts are checked, the others get 429', async () => {
    freezeLoginClock();
    await t.runtime.users.create({ username: 'raced', password: 'raced-password', isAdmin: true });
    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        t.app.inject({ method: 'GET', url: '/api/users', remoteAddress: '203.0.113.51', headers: { authorization: basicAuth('raced', `guess-${i}`) } }),
      ),
    );
    const free = t.config.loginThrottle.accountFreeFailures;
    assert.deepEqual(guesses.map((res) => res.statusCode).sort(), [...Array(free).fill(401), ...Array(12 - free).fill(429)]);
  });

  it('failed Basic attempts count toward the same throttle as the sign-in page', async () => {
    await t.runtime.users.create({ username: 'guessed', password: 'guessed-password', isAdmin: true });
    await listUsers({ authorization: basicAuth('guessed', 'wrong-guess') });
    assert.equal((await t.runtime.store.loginFailures.find('user:guessed'))?.failures, 1);
  });

  it('neither passwords nor API keys appear in the log', async () => {
    const { key } = await newKey();
    await listUsers({ 'x-api-key': key });
    await listUsers({ authorization: `Bearer ${key.slice(0, -2)}xx` });
    const log = logLines.join('');
    assert.ok(log.length > 0);
    assert.ok(!log.includes(key.slice(12, 40)), 'no API key in the log');
    assert.ok(!log.includes(TEST_ADMIN_PASSWORD), 'no password in the log');
    assert.ok(!log.includes(ADMIN_AUTH.authorization.slice(6)), 'no Basic credentials in the log');
  });
});

describe('routes marked apiAuth: none', () => {
  it('answer without credentials while their neighbours still require them', async () => {
    const t = await startTestApp();
    // A bare app with the /api plugin applied in place, so the extra routes share its hooks as later surfaces will.
    const app = Fastify({ logger: false });
    await app.register(
      async (api) => {
        await adminApi(api, { deps: t.runtime });
        api.get('/callback', { config: { apiAuth: 'none' } }, async (request) => ({ caller: request.apiCaller }));
        api.get('/guarded', async (request) => ({ caller: request.apiCaller?.user.username }));
      },
      { prefix: '/api' },
    );
    try {
      const open = await app.inject({ method: 'GET', url: '/api/callback' });
      assert.equal(open.statusCode, 200);
      assert.deepEqual(open.json(), { caller: null });
      assertEnvelope(await app.inject({ method: 'GET', url: '/api/guarded' }), UNAUTHORIZED);
      const guarded = await app.inject({ method: 'GET', url: '/api/guarded', headers: ADMIN_AUTH });
      assert.deepEqual(guarded.json(), { caller: 'admin' });
    } finally {
      await app.close();
      await t.close();
    }
  });
});
