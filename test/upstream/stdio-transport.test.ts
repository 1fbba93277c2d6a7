import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CallToolResultSchema, EmptyResultSchema, ListToolsResultSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { openInItsEra } from '../../src/upstream/connection.js';
import { openTransport, type OpenedTransport } from '../../src/upstream/transports.js';
import type { UpstreamSettings } from '../../src/upstream/types.js';
import { UpstreamClient } from '../../src/upstream/upstream-client.js';

/** A stdio upstream of either era, reached the way a connection reaches it (transports.ts, connection.ts openInItsEra). */

const fixture = (file: string): UpstreamSettings => ({
  name: 'local',
  connection_type: 'stdio',
  stdio_config: { command: process.execPath, args: ['--import', 'tsx', `test/fixtures/upstreams/${file}`] },
  auth_type: 'none',
  timeout_ms: 10_000,
});
const options = () => ({ signal: AbortSignal.timeout(10_000), timeoutMs: 10_000 });
const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe('a stdio upstream’s era', () => {
  const opened: Array<{ client: UpstreamClient; transport: OpenedTransport }> = [];
  after(async () => {
    for (const { client, transport } of opened) {
      await client.close();
      await transport.release();
    }
  });

  async function connect(file: string, { envs, timeoutMs = 10_000 }: { envs?: Record<string, string>; timeoutMs?: number } = {}): Promise<UpstreamClient> {
    const client = new UpstreamClient('test', { streamableHttp: false });
    const transport = await openTransport(fixture(file), { envs });
    opened.push({ client, transport });
    await openInItsEra(client, transport, timeoutMs);
    return client;
  }

  const call = async (client: UpstreamClient, name: string, extra: Partial<ReturnType<typeof options>> & { onProgress?: (progress: Progress) => void } = {}) =>
    client.forward({ method: 'tools/call', params: { name, arguments: { text: name } } }, CallToolResultSchema, { ...options(), ...extra });

  it('is stateless when it answers server/discover with 2026-07-28: no initialize, every request with its _meta', async () => {
    const client = await connect('stateless-stdio-server.ts');
    assert.deepEqual(client.protocol(), { era: 'stateless', version: '2026-07-28' });
    assert.deepEqual(client.getServerVersion(), { name: 'stateless-stdio', version: '1.0.0' });
    const { tools } = await client.forward({ method: 'tools/list', params: {} }, ListToolsResultSchema, options());
    assert.ok(tools.some((tool) => tool.name === 'echo'));
    assert.equal(textOf(await call(client, 'echo')), 'echo');
    const seen = JSON.parse(textOf(await call(client, 'seen'))) as { methods: string[]; meta: Record<string, unknown> };
    assert.equal(seen.methods[0], 'server/discover');
    assert.ok(!seen.methods.includes('initialize'));
    assert.equal(seen.meta['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
    assert.deepEqual(seen.meta['io.modelcontextprotocol/clientInfo'], { name: 'gatehouse', version: 'test' });
  });

  it('relays progress, and cancels with notifications/cancelled (stdio has no stream to close)', async () => {
    const client = await connect('stateless-stdio-server.ts');
    const progress: number[] = [];
    const controller = new AbortController();
    const slow = call(client, 'slow', { signal: controller.signal, onProgress: (update) => (progress.push(update.progress), progress.length === 2 && controller.abort(new Error('enough'))) });
    await assert.rejects(slow, /enough/);
    assert.deepEqual(progress, [1, 2]);
    const seen = JSON.parse(textOf(await call(client, 'seen'))) as { methods: string[]; cancelled: string[] };
    assert.ok(seen.methods.includes('notifications/cancelled'));
    assert.equal(seen.cancelled.length, 1);
  });

  it('hears list changes on its subscriptions/listen, and tells the connection when the process ends', async () => {
    const client = await connect('stateless-stdio-server.ts');
    const changed = new Promise<string>((resolve) => client.watchNotifications({ listChanged: resolve, log: () => undefined, resourceUpdated: () => undefined }));
    const ended = new Promise<void>((resolve) => (client.onclose = resolve));
    // The listen stream opens as the connection is taken: wait until the server has it.
    while (!(JSON.parse(textOf(await call(client, 'seen'))) as { methods: string[] }).methods.includes('subscriptions/listen')) await new Promise((resolve) => setTimeout(resolve, 20));
    await call(client, 'touch');
    assert.equal(await changed, 'tools');
    await call(client, 'exit');
    await ended;
  });

  it('takes resource subscriptions into its listen filter and hears their updates, told apart by subscription id', async () => {
    const client = await connect('stateless-stdio-server.ts');
    const updated: string[] = [];
    client.watchNotifications({ listChanged: () => undefined, log: () => undefined, resourceUpdated: (uri) => void updated.push(uri) });
    await client.forward({ method: 'resources/subscribe', params: { uri: 'note://a' } }, EmptyResultSchema, options());
    await client.forward({ method: 'resources/subscribe', params: { uri: 'note://b' } }, EmptyResultSchema, options());
    await client.forward({ method: 'resources/unsubscribe', params: { uri: 'note://a' } }, EmptyResultSchema, options());
    // The streams replaced were cancelled (stdio has no stream to close): only the last one is told of changes.
    await call(client, 'touch');
    while (updated.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(updated, ['note://b']);
  });

  it('is of the session era when it answers the probe with an error: initialize, as before', async () => {
    const client = await connect('stdio-server.ts');
    assert.equal(client.protocol().era, 'session');
    assert.equal(client.getServerVersion()?.name, 'fixture-stdio');
    const { tools } = await client.forward({ method: 'tools/list', params: {} }, ListToolsResultSchema, options());
    assert.ok(tools.length > 0);
  });

  it('is of the session era when it does not answer the probe at all (a legacy server ignoring an unknown method)', async () => {
    const client = await connect('stdio-server.ts', { envs: { FIXTURE_SILENT: '1' }, timeoutMs: 3000 });
    assert.equal(client.protocol().era, 'session');
    assert.equal(client.getServerVersion()?.name, 'fixture-stdio');
  });
});
