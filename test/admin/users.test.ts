import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { assertEnvelope, sendJson } from './api-client.js';

for (const backend of backends) {
  describe(`/api/users on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    it('an admin creates a user, who can then sign in with that password', async () => {
      const res = await sendJson(t, 'POST', '/api/users', { username: 'Alice', password: 'alices-password', is_admin: true });
      assert.equal(res.statusCode, 201, res.body);
      const user = res.json();
      assert.deepEqual(Object.keys(user).sort(), ['created_at', 'disabled', 'groups', 'id', 'is_admin', 'source', 'username']);
      assert.deepEqual([user.source, user.groups], ['local', []], 'a user created here is local and has no groups');
      assert.equal(user.username, 'alice');
      assert.equal(user.is_admin, true);
      assert.equal(user.disabled, false);
      const login = await t.runtime.login.attempt('alice', 'alices-password', '192.0.2.1');
      assert.equal(login.ok && login.user.id, user.id);
    });

    it('a user is not an admin unless asked for', async () => {
      const res = await sendJson(t, 'POST', '/api/users', { username: 'bob', password: 'bobs-password' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().is_admin, false);
    });

    it('the list shows every user and never a password hash', async () => {
      const res = await sendJson(t, 'GET', '/api/users');
      assert.equal(res.statusCode, 200);
      const names = res.json().users.map((user: { username: string }) => user.username);
      assert.deepEqual(names.sort(), ['admin', 'alice', 'bob']);
      assert.doesNotMatch(res.body, /scrypt|password/i);
    });

    it('/api/me shows any user who they are, with source and groups', async () => {
      const res = await sendJson(t, 'GET', '/api/me', undefined, { authorization: basicAuth('bob', 'bobs-password') });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual([res.json().username, res.json().is_admin, res.json().source, res.json().groups], ['bob', false, 'local', []]);
      assert.equal((await sendJson(t, 'GET', '/api/me', undefined, {})).statusCode, 401);
    });

    it('a taken username gets 409, whatever its case', async () => {
      const res = await sendJson(t, 'POST', '/api/users', { username: 'BOB', password: 'another-password' });
      assertEnvelope(res, { status: 409, type: 'conflict_error', code: 'username_taken', param: 'username' });
    });

    it('a weak password gets 400 naming password', async () => {
      const res = await sendJson(t, 'POST', '/api/users', { username: 'carol', password: 'short' });
      assertEnvelope(res, { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'password' });
      assert.equal(await t.runtime.users.find('carol'), undefined);
    });

    it('a malformed username or a missing field gets 400 naming it', async () => {
      const invalid = { status: 400, type: 'invalid_request_error', code: 'validation_failed' };
      assertEnvelope(await sendJson(t, 'POST', '/api/users', { username: 'no spaces', password: 'long-enough' }), { ...invalid, param: 'username' });
      assertEnvelope(await sendJson(t, 'POST', '/api/users', { username: 'dave' }), { ...invalid, param: 'password' });
      assertEnvelope(await sendJson(t, 'POST', '/api/users', { username: 'dave', password: 'long-enough', is_admin: 'yes' }), { ...invalid, param: 'is_admin' });
    });
  });
}
