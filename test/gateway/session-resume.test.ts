import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { resumeInitialized } from '../../src/gateway/session-resume.js';

/**
 * The SDK offers no public way to rebuild an initialized session, so session-resume.ts sets the fields an
 * initialize would. These tests pin those fields: they fail when an SDK update renames them.
 */
describe('resuming an initialized session in a new SDK server and transport', () => {
  const id = 'session-from-another-replica';
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id });
  const server = new Server({ name: 'resume-test', version: '1.0.0' }, { capabilities: { tools: {}, logging: {} } });
  const sent: JSONRPCMessage[] = [];
  let url: string;
  const http = createServer((req, res) => void transport.handleRequest(req, res));

  before(async () => {
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [] }));
    resumeInitialized(transport, server, {
      sessionId: id,
      clientCapabilities: { sampling: {} },
      clientInfo: { name: 'client', version: '2.0.0' },
      logLevel: 'warning',
    });
    await server.connect(transport);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  });
  after(async () => {
    await server.close();
    http.close();
  });

  it('knows the client as its initialize declared it', () => {
    assert.deepEqual(server.getClientCapabilities(), { sampling: {} });
    assert.deepEqual(server.getClientVersion(), { name: 'client', version: '2.0.0' });
    assert.equal(transport.sessionId, id);
  });

  it('serves a request carrying the session id, with no initialize before it', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /"tools":\[\]/);
  });

  it('refuses another session id, as a session it holds would', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'other' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });

  it('filters log messages below the level the client set', async () => {
    const original = transport.send.bind(transport);
    transport.send = async (message) => void sent.push(message);
    try {
      await server.sendLoggingMessage({ level: 'info', data: 'quiet' }, id);
      await server.sendLoggingMessage({ level: 'error', data: 'loud' }, id);
    } finally {
      transport.send = original;
    }
    assert.deepEqual(sent.map((message) => ('params' in message ? message.params?.data : undefined)), ['loud']);
  });
});
