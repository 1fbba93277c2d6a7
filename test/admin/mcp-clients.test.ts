import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config.js';
import type { ManagedUpstreamRegistry } from '../../src/upstream/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { backends, tempDir } from '../helpers/backends.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { assertEnvelope, sendJson } from './api-client.js';

const SECRET = 'hdr-s3cret-value';

function configFile(upstreams: unknown[]): { file: string; remove(): void } {
  const dir = tempDir('gatehouse-upstreams-');
  const file = path.join(dir.dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify({ upstreams }));
  return { file, remove: dir.remove };
}

for (const backend of backends) {
  describe(`/api/mcp/client* on ${backend}`, () => {
    let t: TestApp;
    let fixture: HttpUpstream;
    let config: ReturnType<typeof configFile>;
    const logLines: string[] = [];
    const body = () => ({ name: 'web', connection_type: 'http', connection_string: fixture.url, auth_type: 'headers', headers: { 'X-Upstream-Key': SECRET } });

    before(async () => {
      fixture = await startHttpUpstream();
      config = configFile([{ name: 'fromfile', connection_type: 'http', connection_string: fixture.url }]);
      const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
      t = await startTestApp({ backend, flags: { config: config.file }, logger });
    });
    after(async () => {
      await t.close();
      await fixture.close();
      config.remove();
    });

    const configUpstreamId = async () => (await t.runtime.store.upstreams.findByName('fromfile'))!.id;

    it('POST creates an upstream (201) with its id and status; the header value is sealed in the store and never returned', async () => {
      const res = await sendJson(t, 'POST', '/api/mcp/client', body());
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      assert.match(created.id, /^ups_/);
      assert.equal(created.source, 'api');
      assert.deepEqual(created.header_names, ['X-Upstream-Key']);
      assert.ok(['connecting', 'connected', 'error'].includes(created.status.state));
      assert.doesNotMatch(res.body, new RegExp(SECRET));

      const row = await t.runtime.store.database.get<Record<string, unknown>>('SELECT * FROM upstreams WHERE id = ?', [created.id]);
      assert.doesNotMatch(JSON.stringify(row), new RegExp(SECRET), 'no plaintext header value in the row');

      await (t.runtime.upstreams as ManagedUpstreamRegistry).whenState(created.id, 'connected');
      assert.ok(fixture.requests.some((headers) => headers['x-upstream-key'] === SECRET), 'the header reached the upstream');
      const list = await sendJson(t, 'GET', '/api/mcp/clients');
      assert.equal(list.statusCode, 200);
      assert.doesNotMatch(list.body, new RegExp(SECRET));
      const listed = list.json().clients.find((c: { id: string }) => c.id === created.id);
      assert.deepEqual(listed.status.state, 'connected');
      const one = await sendJson(t, 'GET', `/api/mcp/client/${created.id}`);
      assert.equal(one.json().name, 'web');
      assert.doesNotMatch(one.body, new RegExp(SECRET));
      assert.ok(!logLines.some((line) => line.includes(SECRET)), 'the header value is never logged');
    });

    it('a taken name is refused with 409 name_taken', async () => {
      assertEnvelope(await sendJson(t, 'POST', '/api/mcp/client', body()), { status: 409, type: 'conflict_error', code: 'name_taken', param: 'name' });
    });

    it('auth_type oauth for an upstream that asks for no authorization is refused with 400 oauth_setup_failed, and nothing is kept', async () => {
      const { headers: _headers, ...plain } = body();
      const res = await sendJson(t, 'POST', '/api/mcp/client', { ...plain, name: 'other', auth_type: 'oauth' });
      const envelope = assertEnvelope(res, { status: 400, type: 'invalid_request_error', code: 'oauth_setup_failed', param: 'connection_string' });
      assert.match((envelope.error as { message: string }).message, /without asking for authorization.*auth_type "none"/);
      assert.equal((envelope.extra_fields as { step: string }).step, 'probe');
      assert.equal(await t.runtime.store.upstreams.findByName('other'), undefined);
    });

    it('creates racing on one name: one wins, the others get 409 name_taken, never a 500', async () => {
      const racing = { ...body(), name: 'racer' };
      const answers = await Promise.all(Array.from({ length: 5 }, () => sendJson(t, 'POST', '/api/mcp/client', racing)));
      assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [201, 409, 409, 409, 409]);
      for (const answer of answers.filter((response) => response.statusCode === 409)) {
        assertEnvelope(answer, { status: 409, type: 'conflict_error', code: 'name_taken', param: 'name' });
      }
      const { id } = answers.find((answer) => answer.statusCode === 201)!.json() as { id: string };
      assert.equal((await sendJson(t, 'DELETE', `/api/mcp/client/${id}`)).statusCode, 204);
    });

    it('records who created, changed and deleted upstreams in the security events', async () => {
      const created = (await sendJson(t, 'POST', '/api/mcp/client', { ...body(), name: 'audited' })).json() as { id: string };
      await sendJson(t, 'PUT', `/api/mcp/client/${created.id}`, { ...body(), name: 'audited', timeout_ms: 2000 });
      await sendJson(t, 'DELETE', `/api/mcp/client/${created.id}`);
      const { events } = (await sendJson(t, 'GET', '/api/audit/events')).json() as { events: { kind: string; user_id: string | null; detail: { upstream_id: string } }[] };
      const mine = events.filter((event) => event.detail.upstream_id === created.id);
      // Sorted: the three may share a millisecond, and events of one millisecond have no order.
      assert.deepEqual(mine.map((event) => event.kind).sort(), ['upstream.created', 'upstream.deleted', 'upstream.updated']);
      const admin = await t.runtime.store.users.findByUsername('admin');
      assert.ok(mine.every((event) => event.user_id === admin!.id));
    });

    it('PUT replaces the settings and keeps the header when it is left out; reconnect answers the status', async () => {
      const id = (await t.runtime.store.upstreams.findByName('web'))!.id;
      const { headers: _omitted, ...withoutHeaders } = body();
      const res = await sendJson(t, 'PUT', `/api/mcp/client/${id}`, { ...withoutHeaders, timeout_ms: 5000, tools_to_skip: ['fail'] });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().timeout_ms, 5000);
      assert.deepEqual(res.json().tools_to_skip, ['fail']);
      assert.deepEqual(res.json().header_names, ['X-Upstream-Key']);

      const reconnect = await sendJson(t, 'POST', `/api/mcp/client/${id}/reconnect`);
      assert.equal(reconnect.statusCode, 200, reconnect.body);
      assert.equal(reconnect.json().status.state, 'connected');
      assert.equal(fixture.requests.at(-1)!['x-upstream-key'], SECRET, 'the kept header is still sent');
    });

    it('upstreams of the config file are listed, can be reconnected, but PUT and DELETE answer 409 pointing at the config file', async () => {
      const id = await configUpstreamId();
      const listed = (await sendJson(t, 'GET', '/api/mcp/clients')).json().clients.find((c: { id: string }) => c.id === id);
      assert.equal(listed.source, 'config');
      for (const res of [
        await sendJson(t, 'PUT', `/api/mcp/client/${id}`, { name: 'fromfile', connection_type: 'http', connection_string: fixture.url, timeout_ms: 1000 }),
        await sendJson(t, 'DELETE', `/api/mcp/client/${id}`),
      ]) {
        const envelope = assertEnvelope(res, { status: 409, type: 'conflict_error', code: 'managed_by_config', param: 'id' });
        assert.match((envelope.error as { message: string }).message, /config file/);
      }
      assert.equal((await sendJson(t, 'POST', `/api/mcp/client/${id}/reconnect`)).json().status.state, 'connected');
    });

    it('DELETE removes an upstream (204) and disconnects it; the id then answers 404', async () => {
      const id = (await t.runtime.store.upstreams.findByName('web'))!.id;
      assert.equal((await sendJson(t, 'DELETE', `/api/mcp/client/${id}`)).statusCode, 204);
      assert.equal(t.runtime.upstreams.get(id), undefined);
      for (const [method, url] of [['GET', `/api/mcp/client/${id}`], ['DELETE', `/api/mcp/client/${id}`], ['POST', `/api/mcp/client/${id}/reconnect`]] as const) {
        assertEnvelope(await sendJson(t, method, url), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
      }
      assertEnvelope(await sendJson(t, 'PUT', `/api/mcp/client/${id}`, body()), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    });

    it('needs admin credentials', async () => {
      assertEnvelope(await sendJson(t, 'GET', '/api/mcp/clients', undefined, {}), { status: 401, type: 'authentication_error', code: 'unauthorized' });
    });
  });
}

describe('a bad upstream in the config file', () => {
  it('stops the start with a ConfigError naming upstreams[0].connection_string', async () => {
    const config = configFile([{ name: 'broken', connection_type: 'http' }]);
    try {
      await assert.rejects(
        startTestApp({ flags: { config: config.file } }),
        (error: unknown) => error instanceof ConfigError && error.setting === 'upstreams[0].connection_string',
      );
    } finally {
      config.remove();
    }
  });
});
