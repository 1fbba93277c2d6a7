import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CreateMessageRequestSchema, McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { directExchanges, GATEWAY_REQUEST_ID_PREFIX, takeDirectMessages } from '../../src/gateway/direct-tool-calls.js';
import { relayableServerRequests } from '../../src/gateway/relayable-requests.js';

/**
 * Requests the SDK server sends a session's client, under fleet-wide ids: a real SDK server and client, the client's
 * messages handed to the server as /mcp does (gateway/mcp-routes.ts: `takeDirectMessages` first).
 */

const sampling = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'hello' } }], maxTokens: 10 };

async function sessionPair(answer: (request: unknown) => Promise<unknown>) {
  const [atClient, atServer] = InMemoryTransport.createLinkedPair();
  const server = new Server({ name: 'gateway', version: '1' }, { capabilities: {} });
  const direct = directExchanges();
  relayableServerRequests(atServer, direct);
  const seenByClient: JSONRPCMessage[] = [];
  const client = new Client({ name: 'client', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => (await answer(request)) as never);
  await server.connect(atServer);
  const sdkOnMessage = atServer.onmessage!;
  // What the route does with a POSTed body before the SDK transport gets the rest.
  atServer.onmessage = (message, extra) => {
    for (const rest of takeDirectMessages(direct, [message])) sdkOnMessage(rest, extra);
  };
  await client.connect(atClient);
  const clientOnMessage = atClient.onmessage!;
  atClient.onmessage = (message, extra) => {
    seenByClient.push(message);
    clientOnMessage(message, extra);
  };
  return { server, client, direct, seenByClient };
}

describe('requests the SDK server sends the client', () => {
  it('go out under this copy’s gateway ids, and the answer taken from the client’s messages settles the SDK’s request', async () => {
    const { server, client, direct, seenByClient } = await sessionPair(async () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'hi there' } }));
    const result = await server.createMessage(sampling);
    assert.deepEqual(result.content, { type: 'text', text: 'hi there' });
    const request = seenByClient.find((message) => 'method' in message && message.method === 'sampling/createMessage');
    assert.ok(request && 'id' in request);
    assert.equal(typeof request.id, 'string');
    assert.ok(String(request.id).startsWith(direct.idPrefix) && direct.idPrefix.startsWith(GATEWAY_REQUEST_ID_PREFIX));
    assert.equal(direct.asked.size, 0, 'nothing left waiting');
    await client.close();
  });

  it('carry the client’s error back to the SDK as an McpError', async () => {
    const { server, client } = await sessionPair(async () => {
      throw new McpError(-32600, 'the user declined');
    });
    await assert.rejects(server.createMessage(sampling), (error: unknown) => error instanceof McpError && error.message.includes('the user declined'));
    await client.close();
  });

  it('are cancelled at the client under the id the client knows when the SDK stops waiting', async () => {
    let release!: () => void;
    const { server, client, direct, seenByClient } = await sessionPair(() => new Promise((resolve) => (release = () => resolve({ role: 'assistant', model: 'm', content: { type: 'text', text: 'late' } }))));
    await assert.rejects(server.createMessage(sampling, { timeout: 50 }), McpError);
    const request = seenByClient.find((message) => 'method' in message && message.method === 'sampling/createMessage');
    const cancelled = seenByClient.find((message) => 'method' in message && message.method === 'notifications/cancelled');
    assert.ok(request && 'id' in request && cancelled && 'params' in cancelled);
    assert.equal(cancelled.params?.requestId, request.id);
    assert.equal(direct.asked.size, 0, 'the abandoned request no longer waits for an answer');
    release();
    await client.close();
  });
});
