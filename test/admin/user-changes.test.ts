import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { assertEnvelope, sendJson } from './api-client.js';

for (const backend of backends) {
  describe(`/api/users/{id} on ${backend}`, () => {
    let t: TestApp;
    const idOf = async (username: string) => (await t.runtime.users.find(username))!.id;
    before(async () => {
      t = await startTestApp({ backend });
      for (const username of ['erin', 'frank']) assert.equal((await sendJson(t, 'POST', '/api/users', { username, password: `${username}-password` })).statusCode, 201);
    });
    after(() => t.close());

    it('disabling a user stops their API key and password at once, and enabling lets them back in', async () => {
      const { token } = await t.runtime.apiKeys.create({ user: (await t.runtime.users.find('erin'))!, name: 'laptop' });
      assert.equal((await sendJson(t, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).statusCode, 200);
      const disabled = await sendJson(t, 'PATCH', `/api/users/${await idOf('erin')}`, { disabled: true });
      assert.equal(disabled.statusCode, 200, disabled.body);
      assert.equal(disabled.json().disabled, true);
      assert.equal((await sendJson(t, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).statusCode, 401);
      assert.equal((await t.runtime.login.attempt('erin', 'erin-password', '192.0.2.9')).ok, false);
      const enabled = await sendJson(t, 'PATCH', `/api/users/${await idOf('erin')}`, { disabled: false });
      assert.equal(enabled.json().disabled, false);
      assert.equal((await sendJson(t, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).statusCode, 200);
    });

    it('an admin flag given makes the user an admin of /api, and taking it away refuses them again', async () => {
      const frank = { authorization: basicAuth('frank', 'frank-password') };
      assert.equal((await sendJson(t, 'GET', '/api/users', undefined, frank)).statusCode, 403);
      assert.equal((await sendJson(t, 'PATCH', `/api/users/${await idOf('frank')}`, { is_admin: true })).json().is_admin, true);
      assert.equal((await sendJson(t, 'GET', '/api/users', undefined, frank)).statusCode, 200);
      assert.equal((await sendJson(t, 'PATCH', `/api/users/${await idOf('frank')}`, { is_admin: false })).json().is_admin, false);
      assert.equal((await sendJson(t, 'GET', '/api/users', undefined, frank)).statusCode, 403);
    });

    it('the last active admin cannot be disabled, demoted or deleted', async () => {
      const admin = `/api/users/${await idOf('admin')}`;
      for (const res of [
        await sendJson(t, 'PATCH', admin, { disabled: true }),
        await sendJson(t, 'PATCH', admin, { is_admin: false }),
        await sendJson(t, 'DELETE', admin),
      ]) {
        assertEnvelope(res, { status: 409, type: 'conflict_error', code: 'last_active_admin', param: 'username' });
      }
      assert.equal((await t.runtime.users.find('admin'))!.isAdmin, true);
    });

    it('a password reset replaces the old password', async () => {
      const res = await sendJson(t, 'POST', `/api/users/${await idOf('frank')}/password`, { password: 'franks-new-password' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await t.runtime.login.attempt('frank', 'frank-password', '192.0.2.10')).ok, false);
      assert.equal((await t.runtime.login.attempt('frank', 'franks-new-password', '192.0.2.10')).ok, true);
      const weak = await sendJson(t, 'POST', `/api/users/${await idOf('frank')}/password`, { password: 'short' });
      assertEnvelope(weak, { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'password' });
    });

    it('an SSO user keeps the password and admin flag of their identity provider', async () => {
      const at = Date.now();
      await t.runtime.store.users.create({
        id: 'usr_sso_grace', username: 'grace', passwordHash: 'x', isAdmin: false, disabledAt: null, createdAt: at, updatedAt: at,
        source: 'sso:corp', externalIssuer: 'https://idp.example', externalSubject: 'grace', groups: ['eng'],
      });
      assertEnvelope(await sendJson(t, 'PATCH', '/api/users/usr_sso_grace', { is_admin: true }), { status: 409, type: 'conflict_error', code: 'not_local_user', param: 'is_admin' });
      assertEnvelope(await sendJson(t, 'POST', '/api/users/usr_sso_grace/password', { password: 'long-enough-pw' }), { status: 409, type: 'conflict_error', code: 'not_local_user', param: 'password' });
      assert.equal((await sendJson(t, 'PATCH', '/api/users/usr_sso_grace', { disabled: true })).json().disabled, true, 'an SSO user can be disabled');
    });

    it('a service account is refused here: it has its own routes', async () => {
      assert.equal((await sendJson(t, 'POST', '/api/service-accounts', { name: 'nightly' })).statusCode, 201);
      assertEnvelope(await sendJson(t, 'DELETE', `/api/users/${await idOf('nightly')}`), { status: 409, type: 'conflict_error', code: 'service_account', param: 'id' });
    });

    it('deleting a user deletes their API keys and records who did it', async () => {
      const erin = (await t.runtime.users.find('erin'))!;
      const { token } = await t.runtime.apiKeys.create({ user: erin, name: 'second' });
      assert.equal((await sendJson(t, 'DELETE', `/api/users/${erin.id}`)).statusCode, 204);
      assert.equal(await t.runtime.users.find('erin'), undefined);
      assert.equal((await sendJson(t, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).statusCode, 401);
      const events = (await sendJson(t, 'GET', '/api/audit/events?kind=user.deleted')).json().events;
      assert.equal(events[0].detail.user, 'erin');
      assert.equal(events[0].user_id, await idOf('admin'));
    });

    it('unknown ids are 404 and an empty change is 400', async () => {
      assertEnvelope(await sendJson(t, 'PATCH', '/api/users/usr_nobody', { disabled: true }), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
      const empty = await sendJson(t, 'PATCH', `/api/users/${await idOf('frank')}`, {});
      assert.equal(empty.statusCode, 400);
    });
  });
}
