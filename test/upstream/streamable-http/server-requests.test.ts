import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, CallToolResultSchema, CreateMessageResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { RELATED_REQUEST_KEY } from '../../../src/upstream/streamable-http/request-attribution.js';
import type { ServerRequestRelay } from '../../../src/upstream/streamable-http/server-requests.js';
import { UpstreamClient } from '../../../src/upstream/upstream-client.js';

/**
 * The upstream client's side of the relay, over an in-memory pair: the upstream here sets the mark itself (over HTTP,
 * request-attribution.ts sets it), so each test chooses which request a sampling request claims to belong to.
 */

const sampling = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'hi' } }], maxTokens: 5 };
const answer = (text: string) => ({ role: 'assistant' as const, model: 'm', content: { type: 'text' as const, text } });

/**
 * An upstream whose tool `ask` samples with the mark `claim(its own request id)` and reports the answer or the refusal;
 * it first waits for `before(its arguments)`.
 */
async function connected(claim: (callId: string | number) => unknown, before: (args: unknown) => Promise<void> = async () => undefined) {
  const server = new Server({ name: 'upstream', version: '1' }, { capabilities: { tools: {} } });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    await before(request.params.arguments);
    try {
      const result = await extra.sendRequest(
        { method: 'sampling/createMessage', params: { ...sampling, _meta: { [RELATED_REQUEST_KEY]: claim(extra.requestId), progressToken: 'upstream-token' } } },
        CreateMessageResultSchema,
      );
      return { content: [{ type: 'text', text: `answered: ${(result.content as { text: string }).text}` }] };
    } catch (error) {
      return { content: [{ type: 'text', text: `refused: ${(error as Error).message}` }] };
    }
  });
  const client = new UpstreamClient('1.0.0', { streamableHttp: true });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(client.attach({ transport: clientSide }));
  const call = (onServerRequest?: ServerRequestRelay, args?: Record<string, unknown>) =>
    client.forward({ method: 'tools/call', params: { name: 'ask', arguments: args } }, CallToolResultSchema, { signal: new AbortController().signal, timeoutMs: 5_000, onServerRequest });
  return { client, server, call };
}

const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe('upstream requests relayed by an upstream client', () => {
  it('relay a request marked with the id of a call in flight to that call’s relay, without the mark and the upstream’s progress token', async () => {
    const { call } = await connected((callId) => callId);
    const seen: Array<Parameters<ServerRequestRelay>[0]> = [];
    const result = await call(async (request) => {
      seen.push(request);
      return answer('from the right client');
    });
    assert.equal(textOf(result), 'answered: from the right client');
    assert.deepEqual(seen, [{ method: 'sampling/createMessage', params: sampling }]);
  });

  it('refuse a request that names no call in flight, or none at all, and never ask the relay', async () => {
    for (const claim of [(callId: string | number) => Number(callId) + 1000, () => undefined, () => ({ id: 1 })]) {
      const { call } = await connected(claim);
      let asked = false;
      const result = await call(async () => {
        asked = true;
        return answer('wrong');
      });
      assert.match(textOf(result), /^refused: .*only accepted on the stream of a request the gateway sent/);
      assert.equal(asked, false);
    }
  });

  it('relay to the right call when calls overlap, one ends while another waits, and a new one follows', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { call } = await connected((callId) => callId, async (args) => {
      if ((args as { wait?: boolean } | undefined)?.wait) await gate;
    });
    const relayTo = (name: string): ServerRequestRelay => async () => answer(name);
    const waiting = call(relayTo('the waiting call'), { wait: true });
    assert.equal(textOf(await call(relayTo('the quick call'))), 'answered: the quick call');
    open();
    assert.equal(textOf(await waiting), 'answered: the waiting call');
    assert.equal(textOf(await call(relayTo('a later call'))), 'answered: a later call');
  });

  it('refuse a request for a call sent without a relay', async () => {
    const { call } = await connected((callId) => callId);
    assert.match(textOf(await call()), /^refused: /);
  });
});
