import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageRequestSchema, CreateMessageResultSchema, type CallToolResult, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { RELATED_REQUEST_KEY } from '../../src/upstream/streamable-http/request-attribution.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';

/**
 * An upstream's sampling request reaches the client whose call it serves, and no other: through a real Gatehouse
 * (HTTP, one shared connection to the upstream) with sessions of two users calling the same upstream at once.
 */

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const firstText = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
const samplingOf = (prompt: string) => ({ messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt } }], maxTokens: 50 });

function samplingUpstream(): McpServer {
  const server = new McpServer({ name: 'sampler', version: '1.0.0' });
  server.registerTool('ask_llm', { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const answer = await extra.sendRequest({ method: 'sampling/createMessage', params: samplingOf(prompt) }, CreateMessageResultSchema);
    return text(`LLM response: ${answer.content.type === 'text' ? answer.content.text : answer.content.type}`);
  });
  // Off the call's stream (the session's GET stream), marked with the id of the call itself: a forgery.
  server.registerTool('ask_llm_elsewhere', { description: 'Asks on the wrong stream' }, async (extra) => {
    try {
      await server.server.createMessage({ ...samplingOf('forged'), _meta: { [RELATED_REQUEST_KEY]: extra.requestId } }, { timeout: 3000 });
      return text('answered');
    } catch (error) {
      return text(`refused: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return server;
}

describe('upstream sampling requests relayed through the gateway', { timeout: 60_000 }, () => {
  const files = tempDir('gatehouse-server-requests-');
  let upstream: ConformanceUpstream;
  let gatehouse: TestApp;
  const clients: Client[] = [];

  before(async () => {
    upstream = await startConformanceUpstream(samplingUpstream);
    const configFile = path.join(files.dir, 'gatehouse.json');
    writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'sampler', connection_type: 'http', connection_string: upstream.url }] }));
    gatehouse = await startTestApp({ listen: true, flags: { config: configFile, noDemo: true } });
    const deadline = Date.now() + 10_000;
    while (gatehouse.runtime.upstreams.all()[0]?.status().state !== 'connected') {
      if (Date.now() > deadline) assert.fail('the upstream did not connect');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await gatehouse?.close();
    await upstream?.close();
    files.remove();
  });

  /** A session of a new user whose client answers sampling requests with `answer` (or cannot sample at all). */
  async function session(username: string, answer?: (request: CreateMessageRequest) => Promise<string>) {
    const user = await gatehouse.runtime.users.create({ username, password: `${username}-Password-1` });
    const { token } = await gatehouse.runtime.apiKeys.create({ user, name: 'test' });
    const client = new Client({ name: `${username}-client`, version: '1.0.0' }, { capabilities: answer ? { sampling: {} } : {} });
    const received: CreateMessageRequest[] = [];
    if (answer) {
      client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        received.push(request);
        return { role: 'assistant', model: 'test-model', content: { type: 'text', text: await answer(request) } };
      });
    }
    const transport = new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    clients.push(client);
    return { client, received };
  }

  it('gives each of two sessions calling the shared upstream at once only its own request, and each call its own answer', async () => {
    // Neither client answers before both have been asked: the two calls are in flight together.
    let bothAsked!: () => void;
    const asked = new Promise<void>((resolve) => (bothAsked = resolve));
    let count = 0;
    const answerAfterBoth = (name: string) => async () => {
      if (++count === 2) bothAsked();
      await asked;
      return `answer for ${name}`;
    };
    const ann = await session('ann', answerAfterBoth('ann'));
    const bob = await session('bob', answerAfterBoth('bob'));
    const [annResult, bobResult] = await Promise.all([
      ann.client.callTool({ name: 'sampler_ask_llm', arguments: { prompt: 'prompt of ann' } }),
      bob.client.callTool({ name: 'sampler_ask_llm', arguments: { prompt: 'prompt of bob' } }),
    ]);
    assert.equal(firstText(annResult), 'LLM response: answer for ann');
    assert.equal(firstText(bobResult), 'LLM response: answer for bob');
    const prompts = (received: CreateMessageRequest[]) => received.map((request) => (request.params.messages[0]!.content as { text: string }).text);
    assert.deepEqual(prompts(ann.received), ['prompt of ann']);
    assert.deepEqual(prompts(bob.received), ['prompt of bob']);
    // The gateway's own mark stays between it and the upstream.
    assert.ok([...ann.received, ...bob.received].every((request) => !(RELATED_REQUEST_KEY in (request.params._meta ?? {}))));
  });

  it('refuses the upstream when the calling client cannot sample, and asks nobody else', async () => {
    const asked: string[] = [];
    await session('dan', async () => {
      asked.push('dan');
      return 'should not be asked';
    });
    const carol = await session('carol');
    const result = await carol.client.callTool({ name: 'sampler_ask_llm', arguments: { prompt: 'prompt of carol' } });
    assert.equal(result.isError, true);
    assert.match(firstText(result), /does not support sampling/);
    assert.deepEqual(asked, []);
  });

  it('refuses a request sent off the call’s stream, even marked with the call’s own id', async () => {
    const erin = await session('erin', async () => 'should not be asked');
    const result = await erin.client.callTool({ name: 'sampler_ask_llm_elsewhere', arguments: {} });
    assert.match(firstText(result), /^refused: .*only accepted on the stream of a request the gateway sent/);
    assert.deepEqual(erin.received, []);
  });
});
