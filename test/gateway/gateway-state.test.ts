import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { loadConfig } from '../../src/config.js';
import { createGatewayState } from '../../src/gateway/gateway-state.js';
import { serverSink } from '../../src/gateway/session-events.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { tempDir } from '../helpers/backends.js';
import { testUpstreamRegistry, type TestRegistry } from '../helpers/upstream-registry.js';

function searchServer(): McpServer {
  const server = new McpServer({ name: 'search', version: '1.0.0' });
  server.registerTool('search', {}, () => ({ content: [] }));
  return server;
}

describe('gateway state', () => {
  let runtime: Runtime;
  let registry: TestRegistry;
  let dir: ReturnType<typeof tempDir>;

  before(async () => {
    dir = tempDir();
    runtime = await openRuntime(loadConfig({ dataDir: dir.dir, noDemo: true }, {}));
    registry = testUpstreamRegistry();
  });

  after(async () => {
    await registry.close();
    await runtime.close();
    dir.remove();
  });

  it('each gateway on one registry has its own catalog, reporting to the logger it was built with', async () => {
    const warnings = { first: [] as string[], second: [] as string[] };
    const first = createGatewayState({ registry, deps: runtime, logger: { warn: (_details, message) => void warnings.first.push(message) } });
    const second = createGatewayState({ registry, deps: runtime, logger: { warn: (_details, message) => void warnings.second.push(message) } });
    try {
      assert.notEqual(first.catalog, second.catalog);
      await registry.add({ name: 'one', server: searchServer(), settings: { tool_name_prefix: false } });
      await registry.add({ name: 'two', server: searchServer(), settings: { tool_name_prefix: false } });
      for (const gateway of [first, second]) {
        await gateway.catalog.list('tools', registry.all());
        gateway.catalog.names('tools');
      }
      assert.deepEqual(warnings, {
        first: ['names of unprefixed upstreams exposed with their prefix'],
        second: ['names of unprefixed upstreams exposed with their prefix'],
      });
    } finally {
      first.close();
      second.close();
    }
  });

  it('once closed, it relays no more events to its sessions', async () => {
    const gateway = createGatewayState({ registry, deps: runtime, logger: { warn: () => undefined } });
    let told = 0;
    const server = { getClientVersion: () => ({ name: 'c', version: '1' }), transport: {}, sendToolListChanged: async () => void told++ };
    const listener = { sink: serverSink(server as unknown as Server), principal: { userId: 'usr_1', username: 'ann' } };
    gateway.events.add(listener);
    await registry.add({ name: 'three', server: searchServer() });
    assert.equal(told, 1);
    gateway.close();
    await registry.add({ name: 'four', server: searchServer() });
    assert.equal(told, 1);
  });
});
