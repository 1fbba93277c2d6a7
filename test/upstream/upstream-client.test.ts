import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, CallToolResultSchema, ListToolsRequestSchema, ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { DirectRequests } from '../../src/upstream/streamable-http/direct-requests.js';
import { isPlainTextToolResult, UpstreamClient } from '../../src/upstream/upstream-client.js';

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const options = () => ({ signal: new AbortController().signal, timeoutMs: 5_000 });

/** An upstream over an in-memory pair whose tool call answers "via the SDK"; `direct` stands in for the direct path. */
async function connected(streamableHttp: boolean, direct?: DirectRequests) {
  const server = new Server({ name: 'upstream', version: '1' }, { capabilities: { tools: {} } });
  server.setRequestHandler(CallToolRequestSchema, async () => text('via the SDK'));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'listed', inputSchema: { type: 'object' as const } }] }));
  const client = new UpstreamClient('1', { streamableHttp });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(client.attach({ transport: clientSide, direct }));
  return { client, server };
}

/** A direct path that answers every request itself and remembers the methods it was given. */
function fakeDirect(result: unknown = text('via the direct path')): DirectRequests & { methods: string[] } {
  const methods: string[] = [];
  return { methods, request: async (message) => (methods.push(message.method), result as never), speakStateless: () => undefined, protocolVersion: () => undefined, close: () => undefined };
}

describe('upstream clients', () => {
  it('offer sampling and elicitation over Streamable HTTP only, where requests can be attributed', async () => {
    assert.deepEqual((await connected(true)).server.getClientCapabilities(), { sampling: {}, elicitation: { form: {}, url: {} } });
    assert.deepEqual((await connected(false)).server.getClientCapabilities(), {});
  });

  it('send tool calls on the direct path when the connection has one, and every other request through the SDK', async () => {
    const direct = fakeDirect();
    const { client } = await connected(true, direct);
    const called = await client.forward({ method: 'tools/call', params: { name: 'echo' } }, CallToolResultSchema, options());
    assert.deepEqual(called.content, text('via the direct path').content);
    const listed = await client.forward({ method: 'tools/list', params: {} }, ListToolsResultSchema, options());
    assert.deepEqual(listed.tools.map((tool) => tool.name), ['listed']);
    assert.deepEqual(direct.methods, ['tools/call']);
  });

  it('send tool calls through the SDK when the connection has no direct path', async () => {
    const { client } = await connected(true);
    assert.deepEqual((await client.forward({ method: 'tools/call', params: { name: 'echo' } }, CallToolResultSchema, options())).content, text('via the SDK').content);
  });

  it('check a direct answer against the result schema, as the SDK does', async () => {
    const { client } = await connected(true, fakeDirect({ content: 'not a list' }));
    await assert.rejects(client.forward({ method: 'tools/call', params: { name: 'echo' } }, CallToolResultSchema, options()), /invalid tools\/call result/);
  });

  it('refuse a session-era answer whose structured content is not an object, as the SDK client does (2025: an object)', async () => {
    for (const structuredContent of [[1, 2], 'text', 3, null]) {
      const { client } = await connected(true, fakeDirect({ ...text('[1,2]'), structuredContent }));
      await assert.rejects(client.forward({ method: 'tools/call', params: { name: 'echo' } }, CallToolResultSchema, options()), /invalid tools\/call result/, JSON.stringify(structuredContent));
    }
  });

  it('take by hand only the tool results the schema would return unchanged, and give every other one to the schema', async () => {
    const plain = [text('a'), { content: [] }, { content: [{ type: 'text', text: 'a' }, { type: 'text', text: '' }], isError: true }, { ...text('b'), isError: false }];
    for (const result of plain) {
      assert.equal(isPlainTextToolResult(result), true, JSON.stringify(result));
      assert.deepEqual(CallToolResultSchema.parse(result), result);
    }
    const others = [
      { content: 'not a list' }, { isError: true }, { ...text('a'), isError: 'yes' }, { ...text('a'), structuredContent: { a: 1 } }, { ...text('a'), _meta: {} },
      { content: [{ type: 'text', text: 'a', annotations: { priority: 1 } }] }, { content: [{ type: 'text', text: 'a', extra: 1 }] }, { content: [{ type: 'text', text: 1 }] },
      { content: [{ type: 'image', data: 'AA==', mimeType: 'image/png' }] }, { content: [null] }, null, [text('a')],
    ];
    for (const result of others) assert.equal(isPlainTextToolResult(result), false, JSON.stringify(result));
  });

  it('ignore a direct path on connections other than Streamable HTTP', async () => {
    const direct = fakeDirect();
    const { client } = await connected(false, direct);
    assert.deepEqual((await client.forward({ method: 'tools/call', params: { name: 'echo' } }, CallToolResultSchema, options())).content, text('via the SDK').content);
    assert.deepEqual(direct.methods, []);
  });
});
