import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { assertEnvelope, sendJson } from './api-client.js';
import type { ApiKeyView } from '../../src/admin/api-keys.js';

type KeyView = ApiKeyView & { key?: string };

for (const backend of backends) {
  describe(`/api/apikeys on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
      await t.runtime.users.create({ username: 'robot', password: 'robot-password' });
    });
    after(() => t.close());

    const listKeys = async () => (await sendJson(t, 'GET', '/api/apikeys')).json().api_keys as KeyView[];

    it('a new key is in the creation response once, and the database holds no plaintext of it', async () => {
      const res = await sendJson(t, 'POST', '/api/apikeys', { name: 'deploy' });
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json() as KeyView;
      assert.match(created.key!, /^gth_ak_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.name, 'deploy');
      assert.equal(created.user, 'admin', "the caller's own user by default");
      assert.equal(created.hint, created.key!.slice(0, 12));
      assert.equal(created.revoked, false);
      assert.equal(created.last_used_at, null);
      assert.equal(res.headers['cache-control'], 'no-store');

      const list = await sendJson(t, 'GET', '/api/apikeys');
      assert.ok(!list.body.includes(created.key!), 'the list never shows the key');
      const listed = (list.json().api_keys as KeyView[]).find((key) => key.id === created.id);
      const { key: _shownOnce, ...view } = created;
      assert.deepEqual(listed, view);

      const rows = await t.runtime.store.database.all('SELECT * FROM api_keys');
      const raw = JSON.stringify(rows);
      assert.ok(rows.length > 0);
      assert.ok(!raw.includes(created.key!.slice(12)), 'no plaintext beyond the hint in any row');
    });

    it('an admin creates a key for another user, who then owns it', async () => {
      const res = await sendJson(t, 'POST', '/api/apikeys', { name: 'robot key', username: 'robot' });
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json() as KeyView;
      assert.equal(created.user, 'robot');
      const found = await t.runtime.apiKeys.authenticate(created.key!);
      assert.equal(found?.user.username, 'robot');
    });

    it('a key for an unknown or disabled user gets 400 naming username', async () => {
      const invalid = { status: 400, type: 'invalid_request_error', param: 'username' };
      assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', { name: 'x', username: 'ghost' }), { ...invalid, code: 'unknown_user' });
      await t.runtime.users.create({ username: 'gone', password: 'gone-password' });
      await t.runtime.users.disable('gone');
      assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', { name: 'x', username: 'gone' }), { ...invalid, code: 'user_disabled' });
    });

    it('using a key shows in last_used_at', async () => {
      const created = (await sendJson(t, 'POST', '/api/apikeys', { name: 'used' })).json() as KeyView;
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/users', headers: { 'x-api-key': created.key! } })).statusCode, 200);
      const listed = (await listKeys()).find((key) => key.id === created.id);
      assert.ok(listed?.last_used_at && Date.parse(listed.last_used_at) >= Date.parse(created.created_at));
    });

    it('DELETE revokes a key: 204, listed as revoked, refused at once', async () => {
      const created = (await sendJson(t, 'POST', '/api/apikeys', { name: 'short-lived' })).json() as KeyView;
      const res = await sendJson(t, 'DELETE', `/api/apikeys/${created.id}`);
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      assert.equal((await listKeys()).find((key) => key.id === created.id)?.revoked, true);
      const refused = await t.app.inject({ method: 'GET', url: '/api/apikeys', headers: { authorization: `Bearer ${created.key}` } });
      assertEnvelope(refused, { status: 401, type: 'authentication_error', code: 'unauthorized' });
      assert.equal((await sendJson(t, 'DELETE', `/api/apikeys/${created.id}`)).statusCode, 204, 'revoking again is harmless');
    });

    it('DELETE of an unknown key gets a 404 envelope', async () => {
      const res = await sendJson(t, 'DELETE', '/api/apikeys/key_doesnotexist');
      assertEnvelope(res, { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    });
  });
}
