import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { directCallOf, directExchanges } from '../../src/gateway/direct-tool-calls.js';
import { parseJsonRpcBody } from '../../src/gateway/jsonrpc-edge.js';
import { resumeInitialized } from '../../src/gateway/session-resume.js';

/** Requests, notifications, responses and mistakes: the edge's hand-checked path must decide as the SDK's schema does. */
const MESSAGES: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
  { jsonrpc: '2.0', id: 'a', method: 'tools/list' },
  { jsonrpc: '2.0', id: 0, method: 'ping', params: {} },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 7 } } },
  { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: { bad: true } } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 4, result: {} },
  { jsonrpc: '2.0', id: 5, error: { code: -1, message: 'no' } },
  { jsonrpc: '1.0', id: 6, method: 'ping' },
  { jsonrpc: '2.0', id: 1.5, method: 'ping' },
  { jsonrpc: '2.0', id: null, method: 'ping' },
  { jsonrpc: '2.0', id: 2 ** 60, method: 'ping' },
  { jsonrpc: '2.0', id: 7, method: 42 },
  { jsonrpc: '2.0', id: 8, method: 'ping', params: null },
  { jsonrpc: '2.0', id: 9, method: 'ping', params: [1] },
  { jsonrpc: '2.0', id: 10, method: 'ping', extra: true },
  'a string',
  null,
];
/** JSON that no object literal writes: an own `__proto__` key. */
const TEXTS = [...MESSAGES.map((message) => JSON.stringify(message)), '{"jsonrpc":"2.0","id":11,"method":"ping","__proto__":{"x":1}}'];

describe('the /mcp JSON-RPC edge', () => {
  it('accepts and returns exactly what the SDK schema accepts and returns, message by message', () => {
    for (const text of TEXTS) {
      const expected = JSONRPCMessageSchema.safeParse(JSON.parse(text));
      const edge = parseJsonRpcBody(text);
      assert.equal(edge.ok, expected.success, text);
      if (edge.ok && expected.success) assert.deepEqual(edge.messages, [expected.data], text);
    }
  });

  it('takes a tools/call to answer directly exactly when the SDK schema accepts it', async () => {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => 's' });
    const server = new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } });
    resumeInitialized(transport, server, { sessionId: 's', clientCapabilities: {}, clientInfo: { name: 'c', version: '1' }, logLevel: null });
    const session = { id: 's', direct: directExchanges(), server, callTool: async () => ({ content: [] }) };
    const headers = { accept: 'application/json, text/event-stream' };
    const calls: Array<Record<string, unknown>> = [
      { name: 'echo', arguments: { text: 'hi' } },
      { name: 'echo' },
      { name: 'echo', arguments: [1] },
      { name: 'echo', arguments: null },
      { name: 7 },
      { name: 'echo', _meta: { progressToken: 'p' } },
      { name: 'echo', task: { ttl: 1000 } },
      { name: 'echo', task: { ttl: 'never' } },
    ];
    for (const params of calls) {
      const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params } as JSONRPCMessage;
      const expected = CallToolRequestSchema.safeParse(message);
      const call = directCallOf(session, headers, [message]);
      assert.equal(call !== undefined, expected.success, JSON.stringify(params));
      if (call && expected.success) assert.deepEqual(call.params, expected.data.params);
    }
  });
});
