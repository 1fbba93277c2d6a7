import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routingHeaders, withRequestMeta } from '../../../src/upstream/streamable-http/protocol-eras.js';

describe('stateless (2026-07-28) requests', () => {
  it('carry the protocol version, client info and capabilities in _meta, keeping the caller’s own keys', () => {
    const identity = { protocolVersion: '2026-07-28', clientInfo: { name: 'gatehouse', version: '1' } };
    assert.deepEqual(withRequestMeta({ name: 'echo', _meta: { progressToken: 't1' } }, identity, { sampling: {} }), {
      name: 'echo',
      _meta: {
        progressToken: 't1',
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'gatehouse', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': { sampling: {} },
      },
    });
  });

  it('name the method in Mcp-Method, and the tool, prompt or resource in Mcp-Name', () => {
    assert.deepEqual(routingHeaders('tools/list', {}), { 'mcp-method': 'tools/list' });
    assert.deepEqual(routingHeaders('tools/call', { name: 'get_weather' }), { 'mcp-method': 'tools/call', 'mcp-name': 'get_weather' });
    assert.deepEqual(routingHeaders('prompts/get', { name: 'greet' }), { 'mcp-method': 'prompts/get', 'mcp-name': 'greet' });
    assert.deepEqual(routingHeaders('resources/read', { uri: 'file:///a%20b.txt' }), { 'mcp-method': 'resources/read', 'mcp-name': 'file:///a%20b.txt' });
    assert.deepEqual(routingHeaders('tools/call', { name: 'météo' }), { 'mcp-method': 'tools/call', 'mcp-name': '=?base64?bcOpdMOpbw==?=' });
  });
});
