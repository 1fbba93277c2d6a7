import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallToolResultSchema, ListToolsResultSchema, ReadResourceResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { routingHeaders, sessionEraResult, sessionEraTool, statelessResultSchema, withProgressToken, withRequestMeta } from '../../../src/upstream/streamable-http/protocol-eras.js';

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

describe('a progress token on an upstream request', () => {
  it('joins the caller’s own _meta keys, and replaces a _meta that is not an object', () => {
    assert.deepEqual(withProgressToken({ name: 'echo', _meta: { trace: 'x' } }, 7), { name: 'echo', _meta: { trace: 'x', progressToken: 7 } });
    assert.deepEqual(withProgressToken({ name: 'echo', _meta: 'not an object' }, 'g-1'), { name: 'echo', _meta: { progressToken: 'g-1' } });
    assert.deepEqual(withProgressToken(undefined, 1), { _meta: { progressToken: 1 } });
  });
});

describe('stateless results for a session-era (2025) client', () => {
  const serverInfo = { 'io.modelcontextprotocol/serverInfo': { name: 'upstream', version: '1' } };

  it('lose resultType, ttlMs, cacheScope and the serverInfo of _meta, and keep everything else', () => {
    const result = { resultType: 'complete', ttlMs: 5000, cacheScope: 'private', contents: [{ uri: 'a://b', text: 'b' }], isError: false, _meta: { ...serverInfo, 'com.example/trace': 't' } };
    assert.deepEqual(sessionEraResult(result), { contents: [{ uri: 'a://b', text: 'b' }], isError: false, _meta: { 'com.example/trace': 't' } });
    assert.deepEqual(sessionEraResult({ resultType: 'complete', content: [], _meta: serverInfo }), { content: [] }, 'no _meta left empty');
  });

  it('leave a result without resultType (a session-era server’s, Gatehouse’s own) as it is, even with keys of the same names', () => {
    const result = { content: [], ttlMs: 1, _meta: serverInfo };
    assert.equal(sessionEraResult(result), result);
  });

  it('lose structured content that is not an object (2025 cannot carry it; its text block goes), and keep an object', () => {
    const text = [{ type: 'text', text: '[1,2]' }];
    for (const structuredContent of [[1, 2], 'two', 2, true, null]) {
      assert.deepEqual(sessionEraResult({ resultType: 'complete', content: text, structuredContent }), { content: text }, JSON.stringify(structuredContent));
    }
    assert.deepEqual(sessionEraResult({ resultType: 'complete', content: text, structuredContent: { n: [1, 2] } }), { content: text, structuredContent: { n: [1, 2] } });
  });

  it('list a tool without an output schema 2025 cannot express (a root other than type object), and any other tool as it is', () => {
    const tool = { name: 'forecast', inputSchema: { type: 'object' } };
    assert.deepEqual(sessionEraTool({ ...tool, outputSchema: { type: 'array', items: { type: 'number' } } }), tool);
    assert.deepEqual(sessionEraTool({ ...tool, outputSchema: { anyOf: [{ type: 'object' }, { type: 'null' }] } }), tool);
    for (const kept of [tool, { ...tool, outputSchema: { type: 'object', properties: { n: { type: 'number' } } } }]) assert.equal(sessionEraTool(kept), kept);
  });
});

describe('stateless results checked as 2026-07-28 allows', () => {
  it('take structured content of any JSON value and an output schema of any JSON Schema object, where 2025’s schemas refuse them', () => {
    const call = { content: [{ type: 'text', text: '[1,2]' }], structuredContent: [1, 2] };
    assert.equal(CallToolResultSchema.safeParse(call).success, false);
    assert.deepEqual(statelessResultSchema(CallToolResultSchema).parse(call), call);
    const list = { tools: [{ name: 'forecast', inputSchema: { type: 'object' }, outputSchema: { type: 'array', items: { type: 'number' } } }] };
    assert.equal(ListToolsResultSchema.safeParse(list).success, false);
    assert.deepEqual(statelessResultSchema(ListToolsResultSchema).parse(list), list);
    assert.equal(statelessResultSchema(ListToolsResultSchema).safeParse({ tools: [{ ...list.tools[0], inputSchema: { type: 'array' } }] }).success, false, 'input schemas stay objects');
    assert.equal(statelessResultSchema(ReadResourceResultSchema), ReadResourceResultSchema);
  });
});
