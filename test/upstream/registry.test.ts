import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createUpstreamRegistry, DEMO_UPSTREAM_ID, type ManagedUpstreamRegistry } from '../../src/upstream/registry.js';
import type { UpstreamEvent } from '../../src/upstream/types.js';
import { upstreamService, type UpstreamService } from '../../src/upstream/upstream-service.js';
import { freePort } from '../helpers/app.js';
import { openTestStore } from '../helpers/backends.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { startSseUpstream } from '../fixtures/upstreams/sse-server.js';

const STDIO_FIXTURE = ['--import', 'tsx', 'test/fixtures/upstreams/stdio-server.ts'];
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

function textOf(result: unknown): string {
  const first = (result as CallToolResult).content[0];
  assert.equal(first?.type, 'text');
  return first.text;
}

/** Resolves with the first event that matches. */
function nextEvent(registry: ManagedUpstreamRegistry, match: (event: UpstreamEvent) => boolean): Promise<UpstreamEvent> {
  return new Promise((resolve) => {
    const stop = registry.subscribe((event) => {
      if (!match(event)) return;
      stop();
      resolve(event);
    });
  });
}

describe('upstream registry', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let registry: ManagedUpstreamRegistry;
  let service: UpstreamService;
  const fixtures: HttpUpstream[] = [];

  const open = async (options: { demo?: boolean; configUpstreams?: Record<string, unknown>[] } = {}) => {
    const encryptionKey = randomBytes(32);
    registry = createUpstreamRegistry({
      store: store.upstreams, encryptionKey, configUpstreams: options.configUpstreams ?? [], demo: options.demo ?? false, backoff: FAST_BACKOFF, startWaitMs: 0,
    });
    service = upstreamService({ store: store.upstreams, encryptionKey, registry });
    await registry.start();
  };
  const httpFixture = async (port?: number) => {
    const fixture = await startHttpUpstream({ port });
    fixtures.push(fixture);
    return fixture;
  };

  beforeEach(async () => {
    store = await openTestStore('sqlite');
  });
  afterEach(async () => {
    await registry?.close();
    await Promise.all(fixtures.splice(0).map((f) => f.close()));
    await store.close();
  });

  it('connects an HTTP and a stdio upstream in parallel; both list their tools, and the static header reaches the HTTP one', async () => {
    await open();
    const fixture = await httpFixture();
    const http = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url, auth_type: 'headers', headers: { 'X-Upstream-Key': 'k-123' } });
    const stdio = await service.create({ name: 'local', connection_type: 'stdio', stdio_config: { command: process.execPath, args: STDIO_FIXTURE } });
    const [web, local] = await Promise.all([registry.whenState(http.id, 'connected'), registry.whenState(stdio.id, 'connected')]);
    for (const upstream of [web, local]) {
      const names = (await upstream.client()!.listTools()).tools.map((tool) => tool.name);
      assert.deepEqual(names.filter((name) => name !== 'crash').sort(), ['add_tool', 'echo', 'env_has', 'fail', 'log', 'redescribe_echo', 'slow']);
    }
    assert.equal(textOf(await local.client()!.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'hi');
    assert.ok(fixture.requests.length > 0);
    assert.ok(fixture.requests.every((headers) => headers['x-upstream-key'] === 'k-123'), 'every request carries the header');
  });

  it('an upstream added and removed through one replica is connected and dropped by another sharing the database', async () => {
    const encryptionKey = randomBytes(32);
    const replica = (syncIntervalMs: number) =>
      createUpstreamRegistry({ store: store.upstreams, encryptionKey, configUpstreams: [], demo: true, backoff: FAST_BACKOFF, startWaitMs: 0, syncIntervalMs });
    const a = replica(60_000);
    const b = replica(50);
    try {
      await Promise.all([a.start(), b.start()]);
      assert.deepEqual(b.all().map((u) => u.id), [DEMO_UPSTREAM_ID]);
      const fixture = await httpFixture();
      const created = await upstreamService({ store: store.upstreams, encryptionKey, registry: a }).create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
      const onB = await b.whenState(created.id, 'connected');
      assert.equal(textOf(await onB.client()!.callTool({ name: 'echo', arguments: { text: 'via b' } })), 'via b');
      assert.equal(b.get(DEMO_UPSTREAM_ID), undefined, 'the demo gives way on the other replica too');
      const changed = nextEvent(b, (event) => event.kind === 'upstreams_changed');
      await upstreamService({ store: store.upstreams, encryptionKey, registry: a }).remove(created.id);
      await changed;
      assert.equal(b.get(created.id), undefined);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('connects a legacy SSE upstream, sending the static header on its event stream and on its POSTs', async () => {
    await open();
    const fixture = await startSseUpstream();
    try {
      const created = await service.create({ name: 'legacy', connection_type: 'sse', connection_string: fixture.url, auth_type: 'headers', headers: { 'X-Upstream-Key': 'k-sse' } });
      const client = (await registry.whenState(created.id, 'connected')).client()!;
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'old school' } })), 'old school');
      assert.ok(fixture.requests.length >= 2);
      assert.ok(fixture.requests.every((headers) => headers['x-upstream-key'] === 'k-sse'));
    } finally {
      await registry.close();
      await fixture.close();
    }
  });

  it('a stdio child gets its own envs but not Gatehouse’s environment (GATEHOUSE_SECRET_KEY)', async () => {
    process.env.GATEHOUSE_SECRET_KEY = 'must-not-leak';
    try {
      await open();
      const created = await service.create({
        name: 'local', connection_type: 'stdio', stdio_config: { command: process.execPath, args: STDIO_FIXTURE, envs: { FIXTURE_TOKEN: 't' } },
      });
      const client = (await registry.whenState(created.id, 'connected')).client()!;
      const has = async (name: string) => textOf(await client.callTool({ name: 'env_has', arguments: { name } }));
      assert.equal(await has('FIXTURE_TOKEN'), 'set');
      assert.equal(await has('GATEHOUSE_SECRET_KEY'), 'unset');
      assert.equal(await has('PATH'), 'set', 'the child still finds its programs');
    } finally {
      delete process.env.GATEHOUSE_SECRET_KEY;
    }
  });

  it('a stdio upstream whose process exits goes to error with its last stderr words and is started again', async () => {
    await open();
    const created = await service.create({ name: 'local', connection_type: 'stdio', stdio_config: { command: process.execPath, args: STDIO_FIXTURE } });
    const first = (await registry.whenState(created.id, 'connected')).client()!;
    await first.callTool({ name: 'crash', arguments: {} });
    const failed = (await registry.whenState(created.id, 'error')).status();
    assert.equal(failed.state, 'error');
    assert.match(failed.reason, /closed.*fixture crashing on request/);
    const again = (await registry.whenState(created.id, 'connected')).client()!;
    assert.notEqual(again, first);
    assert.equal(textOf(await again.callTool({ name: 'echo', arguments: { text: 'back' } })), 'back');
  });

  it('an unreachable URL is in error with a reason and a retry time, and connects once the server appears', async () => {
    await open();
    const port = await freePort();
    const created = await service.create({ name: 'later', connection_type: 'http', connection_string: `http://127.0.0.1:${port}/mcp` });
    const failing = await registry.whenState(created.id, 'error');
    const status = failing.status();
    assert.equal(status.state, 'error');
    assert.match(status.reason, /ECONNREFUSED|fetch failed/);
    assert.ok(status.retryAt !== null && status.retryAt > Date.now() - 1000);
    assert.equal(failing.client(), undefined);
    await httpFixture(port);
    const connected = await registry.whenState(created.id, 'connected');
    assert.ok(connected.client());
  });

  it('an HTTP upstream that goes away goes to error and is reconnected when it comes back', async () => {
    await open();
    const fixture = await httpFixture();
    const created = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
    await registry.whenState(created.id, 'connected');
    const lost = nextEvent(registry, (e) => e.kind === 'tools_changed');
    await fixture.close();
    await registry.whenState(created.id, 'error');
    await lost;
    await httpFixture(fixture.port);
    const back = await registry.whenState(created.id, 'connected');
    assert.equal(textOf(await back.client()!.callTool({ name: 'echo', arguments: { text: 'again' } })), 'again');
  });

  it('a hanging upstream does not hold up another one, and its timeout turns it into an error', async () => {
    // Accepts connections and never answers: an upstream that hangs.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      await open();
      const fixture = await httpFixture();
      const hangs = { name: 'hangs', connection_type: 'http', connection_string: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/mcp` };
      const hanging = await service.create({ ...hangs, timeout_ms: 600_000 });
      const good = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
      await registry.whenState(good.id, 'connected');
      assert.equal(registry.get(hanging.id)!.status().state, 'connecting');
      await service.update(hanging.id, { ...hangs, timeout_ms: 100 });
      const failed = (await registry.whenState(hanging.id, 'error')).status();
      assert.equal(failed.state, 'error');
      assert.match(failed.reason, /timed out/i);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a list change upstream (a tool added at runtime) emits tools_changed for that upstream', async () => {
    await open();
    const fixture = await httpFixture();
    const created = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
    const client = (await registry.whenState(created.id, 'connected')).client()!;
    const changed = nextEvent(registry, (e) => e.kind === 'tools_changed');
    await client.callTool({ name: 'add_tool', arguments: { name: 'shiny' } });
    assert.deepEqual(await changed, { kind: 'tools_changed', upstreamId: created.id });
    assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'shiny'));
  });

  it('a logging message of an upstream is relayed as a log event', async () => {
    await open();
    const fixture = await httpFixture();
    const created = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
    const client = (await registry.whenState(created.id, 'connected')).client()!;
    const logged = nextEvent(registry, (e) => e.kind === 'log');
    await client.callTool({ name: 'log', arguments: { text: 'hello from upstream' } });
    assert.deepEqual(await logged, { kind: 'log', upstreamId: created.id, params: { level: 'info', logger: 'fixture', data: 'hello from upstream' } });
  });

  it('the demo upstream is there while nothing is configured, leaves when one is added and returns when it is removed', async () => {
    await open({ demo: true });
    assert.deepEqual(registry.all().map((u) => u.id), [DEMO_UPSTREAM_ID]);
    const demo = await registry.whenState(DEMO_UPSTREAM_ID, 'connected');
    assert.equal(demo.settings.connection_type, 'in_process');
    assert.ok((await demo.client()!.listTools()).tools.some((tool) => tool.name === 'echo'));

    const fixture = await httpFixture();
    const added = nextEvent(registry, (e) => e.kind === 'upstreams_changed');
    const created = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
    await added;
    assert.deepEqual(registry.all().map((u) => u.id), [created.id]);

    const removed = nextEvent(registry, (e) => e.kind === 'upstreams_changed');
    assert.equal(await service.remove(created.id), true);
    await removed;
    assert.deepEqual(registry.all().map((u) => u.id), [DEMO_UPSTREAM_ID]);
    await registry.whenState(DEMO_UPSTREAM_ID, 'connected');
  });

  it('no demo upstream when the demo is turned off', async () => {
    await open({ demo: false });
    assert.deepEqual(registry.all(), []);
  });

  it('changing an upstream’s headers reconnects it with the new ones; omitted headers are kept', async () => {
    await open();
    const fixture = await httpFixture();
    const created = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url, auth_type: 'headers', headers: { 'X-Key': 'one' } });
    await registry.whenState(created.id, 'connected');
    await service.update(created.id, { name: 'web', connection_type: 'http', connection_string: fixture.url, auth_type: 'headers', headers: { 'X-Key': 'two' } });
    await (await registry.whenState(created.id, 'connected')).client()!.listTools();
    assert.equal(fixture.requests.at(-1)!['x-key'], 'two');
    await service.update(created.id, { name: 'web', connection_type: 'http', connection_string: fixture.url, auth_type: 'headers', timeout_ms: 5000 });
    const upstream = await registry.whenState(created.id, 'connected');
    assert.equal(upstream.settings.timeout_ms, 5000);
    await upstream.client()!.listTools();
    assert.equal(fixture.requests.at(-1)!['x-key'], 'two');
  });

  it('reconnect drops the connection and connects again at once', async () => {
    await open();
    const fixture = await httpFixture();
    const created = await service.create({ name: 'web', connection_type: 'http', connection_string: fixture.url });
    const first = (await registry.whenState(created.id, 'connected')).client();
    const status = await registry.reconnect(created.id);
    assert.equal(status?.state, 'connected');
    const second = registry.get(created.id)!.client();
    assert.ok(second && second !== first, 'a new client');
  });

  after(() => {
    delete process.env.GATEHOUSE_SECRET_KEY;
  });
});
