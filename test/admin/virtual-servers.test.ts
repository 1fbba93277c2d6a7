import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { assertEnvelope, sendJson } from './api-client.js';

for (const backend of backends) {
  describe(`/api/virtual-servers on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend, flags: { publicUrl: 'https://gw.example', noDemo: true } });
    });
    after(() => t.close());

    it('creates (201), lists, shows, replaces, patches and deletes a virtual server', async () => {
      const created = await sendJson(t, 'POST', '/api/virtual-servers', { name: 'support', tools: ['tickets_search', 'wiki_search'], description: 'Support', allowed_groups: ['support'] });
      assert.equal(created.statusCode, 201, created.body);
      const view = created.json();
      assert.equal(view.url, 'https://gw.example/mcp/support');
      assert.equal(view.resource_metadata, 'https://gw.example/.well-known/oauth-protected-resource/mcp/support');
      assert.deepEqual([view.tools, view.allowed_users, view.allowed_groups, view.description], [['tickets_search', 'wiki_search'], null, ['support'], 'Support']);

      assert.deepEqual((await sendJson(t, 'GET', '/api/virtual-servers')).json().virtual_servers.map((server: { name: string }) => server.name), ['support']);
      assert.deepEqual((await sendJson(t, 'GET', '/api/virtual-servers/support')).json().tools, ['tickets_search', 'wiki_search']);

      const replaced = await sendJson(t, 'PUT', '/api/virtual-servers/support', { tools: ['tickets_search'], allowed_users: ['carol'] });
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.deepEqual([replaced.json().tools, replaced.json().allowed_users, replaced.json().allowed_groups, replaced.json().description], [['tickets_search'], ['carol'], null, null], 'PUT clears what it leaves out');

      const patched = await sendJson(t, 'PATCH', '/api/virtual-servers/support', { description: 'Help desk', allowed_users: null });
      assert.deepEqual([patched.json().tools, patched.json().allowed_users, patched.json().description], [['tickets_search'], null, 'Help desk'], 'PATCH keeps what it leaves out');
      assert.ok((await t.runtime.store.audit.list({ limit: 20 })).some((event) => event.kind === 'virtual_server.updated'));

      assert.equal((await sendJson(t, 'DELETE', '/api/virtual-servers/support')).statusCode, 204);
      assertEnvelope(await sendJson(t, 'GET', '/api/virtual-servers/support'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'name' });
      assertEnvelope(await sendJson(t, 'DELETE', '/api/virtual-servers/support'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'name' });
    });

    it('refuses a taken name (409), a name that is not one path segment, a repeated tool and unknown fields (400)', async () => {
      assert.equal((await sendJson(t, 'POST', '/api/virtual-servers', { name: 'ops', tools: [] })).statusCode, 201);
      assertEnvelope(await sendJson(t, 'POST', '/api/virtual-servers', { name: 'ops', tools: [] }), { status: 409, type: 'conflict_error', code: 'name_taken', param: 'name' });
      for (const name of ['Ops', 'a/b', '-x', '', 'x'.repeat(64)]) {
        assertEnvelope(await sendJson(t, 'POST', '/api/virtual-servers', { name, tools: [] }), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'name' });
      }
      assertEnvelope(await sendJson(t, 'POST', '/api/virtual-servers', { name: 'dup', tools: ['a', 'a'] }), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'tools' });
      assert.equal((await sendJson(t, 'PUT', '/api/virtual-servers/ops', { name: 'renamed', tools: [] })).statusCode, 400, 'the name never changes');
      assert.equal((await sendJson(t, 'POST', '/api/virtual-servers', { name: 'extra', tools: [], endpoint: '/x' })).statusCode, 400);
    });

    it('is for admins only', async () => {
      const user = await t.runtime.users.create({ username: 'erin', password: 'erin-Password-1' });
      assert.ok(user);
      const asUser = { authorization: basicAuth('erin', 'erin-Password-1') };
      assert.equal((await sendJson(t, 'GET', '/api/virtual-servers', undefined, asUser)).statusCode, 403);
      assert.equal((await sendJson(t, 'POST', '/api/virtual-servers', { name: 'mine', tools: [] }, asUser)).statusCode, 403);
    });
  });
}
