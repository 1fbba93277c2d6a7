import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createCatalog, type Catalog } from '../../src/gateway/catalog.js';
import { scopesRequiredFor } from '../../src/gateway/operation-scopes.js';
import { testUpstreamRegistry, type TestRegistry } from '../helpers/upstream-registry.js';

const request = (method: string, params?: Record<string, unknown>): JSONRPCMessage => ({ jsonrpc: '2.0', id: 1, method, ...(params ? { params } : {}) });
const call = (name: string) => request('tools/call', { name, arguments: {} });

describe('scopes each MCP operation needs', () => {
  let registry: TestRegistry;
  let catalog: Catalog;
  let gateway: { registry: TestRegistry; catalog: Catalog };
  let upstream: McpServer;

  before(async () => {
    registry = testUpstreamRegistry();
    upstream = new McpServer({ name: 'files', version: '1.0.0' });
    upstream.registerTool('read', { annotations: { readOnlyHint: true } }, () => ({ content: [] }));
    upstream.registerTool('write', { annotations: { readOnlyHint: false } }, () => ({ content: [] }));
    upstream.registerTool('unannotated', {}, () => ({ content: [] }));
    upstream.registerTool('secret_read', { annotations: { readOnlyHint: true } }, () => ({ content: [] }));
    await registry.add({ name: 'files', server: upstream, settings: { tools_to_skip: ['secret_read'] } });
    await registry.add({ name: 'team', server: teamServer(), settings: { allowed_users: ['ann'] } });
    // The scope check reads the catalog's cache; a listing fills it.
    catalog = createCatalog(registry);
    gateway = { registry, catalog };
    await catalog.list('tools', registry.all());
  });

  after(() => {
    catalog.close();
    return registry.close();
  });

  it('session plumbing needs no scope', () => {
    assert.deepEqual(scopesRequiredFor(request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), gateway), []);
    assert.deepEqual(scopesRequiredFor(request('ping'), gateway), []);
    assert.deepEqual(scopesRequiredFor({ jsonrpc: '2.0', method: 'notifications/initialized' }, gateway), []);
    assert.deepEqual(scopesRequiredFor({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }, gateway), []);
    assert.deepEqual(scopesRequiredFor({ jsonrpc: '2.0', id: 7, result: {} }, gateway), []);
  });

  it('listing, reading, prompts, completion and log level need mcp:read', () => {
    for (const method of ['tools/list', 'resources/list', 'resources/read', 'resources/templates/list', 'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel']) {
      assert.deepEqual(scopesRequiredFor(request(method, {}), gateway), ['mcp:read'], method);
    }
  });

  it('calling a tool annotated readOnlyHint: true needs mcp:read', () => {
    assert.deepEqual(scopesRequiredFor(call('files_read'), gateway), ['mcp:read']);
  });

  it('calling any other tool needs mcp:write: read-only false, no annotation, unknown, or no name', () => {
    assert.deepEqual(scopesRequiredFor(call('files_write'), gateway), ['mcp:write']);
    assert.deepEqual(scopesRequiredFor(call('files_unannotated'), gateway), ['mcp:write']);
    assert.deepEqual(scopesRequiredFor(call('files_missing'), gateway), ['mcp:write']);
    assert.deepEqual(scopesRequiredFor(request('tools/call', {}), gateway), ['mcp:write']);
  });

  it('a read-only tool the user may not use needs the same scope as an unknown tool, so the answer reveals nothing', () => {
    assert.deepEqual(scopesRequiredFor(call('files_secret_read'), gateway, { username: 'ann' }), ['mcp:write']);
    assert.deepEqual(scopesRequiredFor(call('team_lookup'), gateway, { username: 'bob' }), ['mcp:write']);
    assert.deepEqual(scopesRequiredFor(call('team_lookup'), gateway, { username: 'ann' }), ['mcp:read']);
  });

  it('after an upstream’s tool list changes, the new tool’s annotations decide', { timeout: 10_000 }, async () => {
    const changed = new Promise<void>((resolve) => {
      const stop = registry.subscribe((event) => event.kind === 'tools_changed' && (stop(), resolve()));
    });
    upstream.registerTool('peek', { annotations: { readOnlyHint: true } }, () => ({ content: [] }));
    await changed;
    // The catalog refetches on the event; a listing waits for that fetch.
    await catalog.list('tools', registry.all());
    assert.deepEqual(scopesRequiredFor(call('files_peek'), gateway), ['mcp:read']);
  });
});

function teamServer() {
  const server = new McpServer({ name: 'team', version: '1.0.0' });
  server.registerTool('lookup', { annotations: { readOnlyHint: true } }, () => ({ content: [] }));
  return server;
}
