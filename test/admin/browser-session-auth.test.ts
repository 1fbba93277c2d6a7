import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sessionCsrf } from '../../src/identity/session-csrf.js';
import { browserSessions } from '../../src/identity/sessions.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { assertEnvelope, sendJson } from './api-client.js';

describe('/api with the browser session of the console', () => {
  let t: TestApp;
  const sessionOf = async (username: string) => {
    const token = await browserSessions(t.runtime).open((await t.runtime.users.find(username))!, 'test');
    const csrf = sessionCsrf(t.runtime.keys.cookieKey).tokenFor({ tokenHash: t.runtime.keys.tokenHasher.hash(token) });
    return { cookie: `gatehouse_session=${token}`, csrf };
  };
  before(async () => {
    t = await startTestApp();
    assert.equal((await sendJson(t, 'POST', '/api/users', { username: 'ivan', password: 'ivans-password' })).statusCode, 201);
  });
  after(() => t.close());

  it("an admin's session cookie with its CSRF token reads and changes through /api", async () => {
    const { cookie, csrf } = await sessionOf('admin');
    const list = await sendJson(t, 'GET', '/api/users', undefined, { cookie, 'x-csrf-token': csrf });
    assert.equal(list.statusCode, 200, list.body);
    const created = await sendJson(t, 'POST', '/api/apikeys', { name: 'from the console' }, { cookie, 'x-csrf-token': csrf });
    assert.equal(created.statusCode, 201, created.body);
  });

  it('the cookie without the CSRF token, or with a wrong one, is refused before anything happens', async () => {
    const { cookie } = await sessionOf('admin');
    const other = await sessionOf('admin');
    for (const headers of [{ cookie } as Record<string, string>, { cookie, 'x-csrf-token': 'guessed' }, { cookie, 'x-csrf-token': other.csrf }]) {
      const res = await sendJson(t, 'POST', '/api/users', { username: 'mallory', password: 'mallorys-password' }, headers);
      assertEnvelope(res, { status: 403, type: 'permission_error', code: 'csrf_token_invalid', param: 'x-csrf-token' });
      assertEnvelope(await sendJson(t, 'GET', '/api/users', undefined, headers), { status: 403, type: 'permission_error', code: 'csrf_token_invalid', param: 'x-csrf-token' });
    }
    assert.equal(await t.runtime.users.find('mallory'), undefined);
  });

  it("a non-admin's session is refused on admin routes and allowed on their own", async () => {
    const { cookie, csrf } = await sessionOf('ivan');
    assert.equal((await sendJson(t, 'GET', '/api/users', undefined, { cookie, 'x-csrf-token': csrf })).statusCode, 403);
    assert.equal((await sendJson(t, 'GET', '/api/me', undefined, { cookie, 'x-csrf-token': csrf })).json().username, 'ivan');
  });

  it('an ended session is a 401 without a Basic challenge (no browser password prompt)', async () => {
    const { cookie, csrf } = await sessionOf('admin');
    await browserSessions(t.runtime).revoke(cookie.split('=')[1]);
    const res = await sendJson(t, 'GET', '/api/users', undefined, { cookie, 'x-csrf-token': csrf });
    assertEnvelope(res, { status: 401, type: 'authentication_error', code: 'unauthorized' });
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  it('/api still refuses form posts from a signed-in browser', async () => {
    const { cookie, csrf } = await sessionOf('admin');
    const res = await t.app.inject({
      method: 'POST', url: '/api/users', payload: 'username=eve&password=eves-password',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.statusCode, 415);
    assert.equal(await t.runtime.users.find('eve'), undefined);
  });

  it('GET /api/overview counts upstreams by state, the tool calls of the last 15 minutes and their errors', async () => {
    const call = { userId: null, clientId: null, upstreamId: 'ups_x', upstreamName: 'x', tool: 't', error: null, durationMs: 1, arguments: null };
    const now = Date.now();
    await t.runtime.store.toolCalls.append({ ...call, id: 'tc_1', at: now - 1000, outcome: 'ok' });
    await t.runtime.store.toolCalls.append({ ...call, id: 'tc_2', at: now - 2000, outcome: 'upstream_error' });
    await t.runtime.store.toolCalls.append({ ...call, id: 'tc_3', at: now - 16 * 60_000, outcome: 'ok' });
    const res = await sendJson(t, 'GET', '/api/overview');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      window_minutes: 15, upstreams: { total: 0, by_state: {} }, active_sessions: 0,
      tool_calls: { total: 2, per_minute: 0.1, errors: 1, by_outcome: { ok: 1, upstream_error: 1 } },
    });
  });
});
