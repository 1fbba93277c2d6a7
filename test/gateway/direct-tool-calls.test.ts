import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageRequestSchema, CreateMessageResultSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { gatewayRoutes } from '../../src/gateway/mcp-routes.js';
import { mcpSessionTable } from '../../src/gateway/mcp-sessions.js';
import type { ToolCallFilter } from '../../src/store/gateway-types.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { connectWithToken } from '../helpers/mcp-session.js';
import { waitFor } from '../helpers/wait-for.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';
import { grantWithTokens } from '../oauth/token-fixtures.js';

/**
 * `tools/call` answered by direct-tool-calls.ts rather than the SDK's server transport, through real HTTP: JSON
 * unless progress or an upstream's request must go first (then SSE), cancellations and the client's answers taken
 * from later POSTs, and everything that is not a plain call still answered by the SDK. The upstream is an SDK server
 * over Streamable HTTP behind the real registry, since relaying its sampling requests needs that transport.
 */

const ACCEPT = 'application/json, text/event-stream';
const PROTOCOL = '2025-06-18';
type Message = Record<string, any>;

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const firstText = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

/** A promise the test resolves from inside the upstream: waiting on an event without sleeping. */
function latch() {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fire, fired };
}

/** Per call of `wait` (by its `key` argument): it started, its signal was aborted, the test lets it finish. */
const gates = new Map<string, { started: ReturnType<typeof latch>; aborted: ReturnType<typeof latch>; release: ReturnType<typeof latch> }>();
const gate = (key: string) => {
  let found = gates.get(key);
  if (!found) gates.set(key, (found = { started: latch(), aborted: latch(), release: latch() }));
  return found;
};

function directUpstream(): McpServer {
  const server = new McpServer({ name: 'direct', version: '1.0.0' });
  server.registerTool('lookup', { inputSchema: { q: z.string() }, annotations: { readOnlyHint: true } }, async ({ q }) => text(`found ${q}`));
  server.registerTool('count', { inputSchema: { steps: z.number() }, annotations: { readOnlyHint: true } }, async ({ steps }, extra) => {
    const progressToken = extra._meta?.progressToken;
    for (let step = 1; step <= steps && progressToken !== undefined; step++) {
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: steps, message: `step ${step}` } });
    }
    return text(`counted to ${steps}`);
  });
  // Runs until the test releases it or its request is cancelled; reports one progress step first when asked to.
  server.registerTool('wait', { inputSchema: { key: z.string() }, annotations: { readOnlyHint: true } }, async ({ key }, extra) => {
    const { started, aborted, release } = gate(key);
    const progressToken = extra._meta?.progressToken;
    if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, message: 'waiting' } });
    started.fire();
    await new Promise<void>((resolve) => {
      extra.signal.addEventListener('abort', () => (aborted.fire(), resolve()), { once: true });
      void release.fired.then(resolve);
    });
    return text(extra.signal.aborted ? `aborted ${key}` : `released ${key}`);
  });
  server.registerTool('sample', { inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const answer = await extra.sendRequest(
      { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 20 } },
      CreateMessageResultSchema,
    );
    return text(`LLM said: ${answer.content.type === 'text' ? answer.content.text : answer.content.type}`);
  });
  server.registerTool('boom', {}, async () => {
    throw new Error('boom went the tool');
  });
  server.registerTool('secret', { annotations: { readOnlyHint: true } }, async () => text('the secret'));
  return server;
}

/** The JSON-RPC messages of a response, whether it is JSON or an SSE stream. */
async function messagesOf(response: Response): Promise<Message[]> {
  const body = await response.text();
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return body ? [JSON.parse(body)] : [];
  const messages: Message[] = [];
  const parser = createParser({ onEvent: (event) => void (event.data && messages.push(JSON.parse(event.data))) });
  parser.feed(body);
  return messages;
}

describe('tools/call answered directly', { timeout: 60_000 }, () => {
  const files = tempDir('gatehouse-direct-calls-');
  let upstream: ConformanceUpstream;
  let t: TestApp;
  let gw: FastifyInstance;
  let url: string;
  let token: string;

  before(async () => {
    upstream = await startConformanceUpstream(directUpstream);
    const configFile = path.join(files.dir, 'gatehouse.json');
    writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'direct', connection_type: 'http', connection_string: upstream.url, tools_to_skip: ['secret'], timeout_ms: 10_000 }] }));
    t = await startTestApp({ flags: { config: configFile, noDemo: true } });
    await waitFor('the upstream to connect', () => (t.runtime.upstreams.all()[0]?.status().state === 'connected' ? true : undefined));
    gw = Fastify();
    await gw.register(gatewayRoutes, { deps: t.runtime, sessions: mcpSessionTable({ maxSessions: 50, store: t.runtime.store.mcpSessions, announceEnded: async () => undefined }) });
    await gw.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(gw.server.address() as AddressInfo).port}/mcp`;
    token = (await grantWithTokens(t)).tokens.access_token;
  });
  after(async () => {
    await gw?.close();
    await t?.close();
    await upstream?.close();
    files.remove();
  });

  const post = (sessionId: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ACCEPT,
        'content-type': 'application/json',
        ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL } : {}),
        ...headers,
      },
      body: JSON.stringify(body),
    });

  /** initialize + notifications/initialized: a session ready for direct calls. */
  const openSession = async (capabilities: Record<string, unknown> = {}): Promise<string> => {
    const init = await post(undefined, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities, clientInfo: { name: 'direct-test', version: '1.0.0' } },
    });
    assert.equal(init.status, 200);
    await init.text();
    const sessionId = init.headers.get('mcp-session-id');
    assert.ok(sessionId);
    const ack = await post(sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(ack.status, 202);
    return sessionId;
  };

  const callTool = (sessionId: string, id: string | number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) =>
    post(sessionId, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });

  const cancel = (sessionId: string, requestId: string | number) =>
    post(sessionId, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'the user stopped it' } });

  const audited = (filter: Omit<ToolCallFilter, 'limit'>) => t.runtime.store.toolCalls.list({ limit: 1000, ...filter });

  it('answers a plain call with JSON: the session id, the same JSON-RPC id, the tool’s result, and an audit record', async () => {
    const sessionId = await openSession();
    const before = (await audited({ tool: 'lookup', outcome: 'ok' })).length;
    for (const id of ['call-1', 42]) {
      const response = await callTool(sessionId, id, 'direct_lookup', { q: `x${id}` });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(response.headers.get('mcp-session-id'), sessionId);
      // Fastify's headers so far go along, so browsers can read the answer and its session id.
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.match(String(response.headers.get('access-control-expose-headers')), /Mcp-Session-Id/);
      assert.deepEqual(await response.json(), { jsonrpc: '2.0', id, result: text(`found x${id}`) });
    }
    const records = await audited({ tool: 'lookup', outcome: 'ok' });
    assert.equal(records.length, before + 2);
    assert.equal(records[0]?.upstreamName, 'direct');
  });

  it('with a progress token, streams the progress notifications under the client’s token before the result', async () => {
    const sessionId = await openSession();
    const response = await callTool(sessionId, 'p-1', 'direct_count', { steps: 3 }, { progressToken: 'client-token' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.equal(response.headers.get('mcp-session-id'), sessionId);
    const messages = await messagesOf(response);
    assert.deepEqual(
      messages.map((message) => message.method ?? `result ${message.id}`),
      ['notifications/progress', 'notifications/progress', 'notifications/progress', 'result p-1'],
    );
    assert.deepEqual(
      messages.slice(0, 3).map((message) => [message.params.progressToken, message.params.progress, message.params.total, message.params.message]),
      [['client-token', 1, 3, 'step 1'], ['client-token', 2, 3, 'step 2'], ['client-token', 3, 3, 'step 3']],
    );
    assert.deepEqual(messages[3], { jsonrpc: '2.0', id: 'p-1', result: text('counted to 3') });
  });

  it('answers an unknown tool and a tool the policy hides with the same -32602 error, directly; the hidden one is audited as denied', async () => {
    const sessionId = await openSession();
    const deniedBefore = (await audited({ tool: 'secret', outcome: 'denied' })).length;
    for (const name of ['direct_nope', 'direct_secret']) {
      const response = await callTool(sessionId, `u-${name}`, name);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: `u-${name}`, error: { code: -32602, message: `Unknown tool: ${name}` } });
    }
    assert.equal((await audited({ tool: 'secret', outcome: 'denied' })).length, deniedBefore + 1);
  });

  it('answers a tool that throws upstream with an isError result', async () => {
    const sessionId = await openSession();
    const response = await callTool(sessionId, 'b-1', 'direct_boom');
    assert.equal(response.headers.get('content-type'), 'application/json');
    const answer = await response.json();
    assert.equal(answer.id, 'b-1');
    assert.equal(answer.result.isError, true);
    assert.match(firstText(answer.result), /boom went the tool/);
    assert.equal((await audited({ tool: 'boom', outcome: 'tool_error' })).length, 1);
  });

  it('leaves invalid params to the SDK, which answers its JSON-RPC error (-32603 naming params.name), never a 500', async () => {
    const sessionId = await openSession();
    for (const params of [{ arguments: {} }, { name: 42, arguments: {} }]) {
      const response = await post(sessionId, { jsonrpc: '2.0', id: 'bad', method: 'tools/call', params });
      assert.equal(response.status, 200, JSON.stringify(params));
      // The SDK answers on an SSE stream; the direct path would have answered with JSON.
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      const [answer] = await messagesOf(response);
      assert.equal(answer?.id, 'bad');
      // The SDK's Protocol answers a request that fails its schema with -32603 and the validation issues as the message.
      assert.equal(answer?.error?.code, -32603, JSON.stringify(answer));
      assert.match(answer?.error?.message, /"name"/);
    }
  });

  it('leaves a batch to the SDK, which answers each of its calls', async () => {
    const sessionId = await openSession();
    const response = await post(sessionId, [
      { jsonrpc: '2.0', id: 'b1', method: 'tools/call', params: { name: 'direct_lookup', arguments: { q: 'one' } } },
      { jsonrpc: '2.0', id: 'b2', method: 'tools/call', params: { name: 'direct_lookup', arguments: { q: 'two' } } },
    ]);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const answers = await messagesOf(response);
    assert.deepEqual(
      answers.map((answer) => [answer.id, firstText(answer.result)]).sort(),
      [['b1', 'found one'], ['b2', 'found two']],
    );
  });

  it('leaves a batch of one call to the SDK too: its answer is a batch, not a bare response', async () => {
    const sessionId = await openSession();
    const response = await post(sessionId, [{ jsonrpc: '2.0', id: 'only', method: 'tools/call', params: { name: 'direct_lookup', arguments: { q: 'alone' } } }]);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const answers = await messagesOf(response);
    assert.deepEqual(answers.map((answer) => [answer.id, firstText(answer.result)]), [['only', 'found alone']]);
  });

  it('leaves a client whose Accept lacks text/event-stream (406) and an unsupported protocol version (400) to the SDK; the tool never runs', async () => {
    const sessionId = await openSession();
    const before = (await audited({ tool: 'lookup' })).length;
    const jsonOnly = await post(sessionId, { jsonrpc: '2.0', id: 'a-1', method: 'tools/call', params: { name: 'direct_lookup', arguments: { q: 'a' } } }, { accept: 'application/json' });
    assert.equal(jsonOnly.status, 406);
    assert.equal((await jsonOnly.json()).jsonrpc, '2.0');
    const oldVersion = await post(sessionId, { jsonrpc: '2.0', id: 'v-1', method: 'tools/call', params: { name: 'direct_lookup', arguments: { q: 'v' } } }, { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(oldVersion.status, 400);
    assert.match((await oldVersion.json()).error.message, /Unsupported protocol version/);
    assert.equal((await audited({ tool: 'lookup' })).length, before);
  });

  it('a cancellation of a call in flight is answered 202, aborts the upstream tool, and the call gets no response', async () => {
    const sessionId = await openSession();
    const cancelledBefore = (await audited({ tool: 'wait', outcome: 'cancelled' })).length;
    const pending = callTool(sessionId, 'slow-1', 'direct_wait', { key: 'cancel' });
    await gate('cancel').started.fired;
    const cancelled = await cancel(sessionId, 'slow-1');
    assert.equal(cancelled.status, 202);
    await gate('cancel').aborted.fired;
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual(await messagesOf(response), [], 'nothing at all, and so no response for slow-1');
    assert.equal((await audited({ tool: 'wait', outcome: 'cancelled' })).length, cancelledBefore + 1);
    // The session goes on.
    assert.equal(firstText((await (await callTool(sessionId, 'after', 'direct_lookup', { q: 'y' })).json()).result), 'found y');
  });

  it('a cancellation for an id of another session goes to the SDK (202) and leaves that session’s call running to its result', async () => {
    const owner = await openSession();
    const other = await openSession();
    const ownerCall = callTool(owner, 'shared-id', 'direct_wait', { key: 'owner' });
    // The other session has a direct call of its own in flight, so its cancellations are looked at by the direct path.
    const otherCall = callTool(other, 'own-id', 'direct_wait', { key: 'other' });
    await Promise.all([gate('owner').started.fired, gate('other').started.fired]);
    assert.equal((await cancel(other, 'shared-id')).status, 202);
    gate('owner').release.fire();
    gate('other').release.fire();
    assert.deepEqual(await (await ownerCall).json(), { jsonrpc: '2.0', id: 'shared-id', result: text('released owner') });
    assert.deepEqual(await (await otherCall).json(), { jsonrpc: '2.0', id: 'own-id', result: text('released other') });
  });

  it('a JSON-RPC response no direct call waits for goes to the SDK (202), with or without a call in flight', async () => {
    const sessionId = await openSession();
    const stray = { jsonrpc: '2.0', id: 'nobody-asked', result: {} };
    assert.equal((await post(sessionId, stray)).status, 202);
    const pending = callTool(sessionId, 'stray-call', 'direct_wait', { key: 'stray' });
    await gate('stray').started.fired;
    assert.equal((await post(sessionId, stray)).status, 202);
    gate('stray').release.fire();
    assert.deepEqual(await (await pending).json(), { jsonrpc: '2.0', id: 'stray-call', result: text('released stray') });
  });

  it('the answer to a request sent on a call’s stream settles it only on that session: posted on another session of the same user it is not taken', async () => {
    const owner = await openSession({ sampling: {} });
    const other = await openSession({ sampling: {} });
    const response = await callTool(owner, 'sampled', 'direct_sample', { prompt: 'whose answer?' });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    // Read the stream until the upstream's sampling request arrives on it.
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const seen: Message[] = [];
    const parser = createParser({ onEvent: (event) => void (event.data && seen.push(JSON.parse(event.data))) });
    while (!seen.some((message) => message.method === 'sampling/createMessage')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended before the sampling request');
      parser.feed(value);
    }
    const asked = seen.find((message) => message.method === 'sampling/createMessage')!;
    const answer = (said: string) => ({ jsonrpc: '2.0', id: asked.id, result: { role: 'assistant', model: 'test', content: { type: 'text', text: said } } });
    // The other session's POST goes to its own SDK server, which knows no such request: accepted, and nothing settles.
    assert.equal((await post(other, answer('from the other session'))).status, 202);
    assert.equal((await post(owner, answer('from the owner'))).status, 202);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(chunk.value);
    const final = seen.find((message) => message.id === 'sampled');
    assert.deepEqual(final?.result, text('LLM said: from the owner'));
  });

  it('ending the session (DELETE /mcp) while a call streams aborts it upstream and ends its stream without a result', async () => {
    const sessionId = await openSession();
    const response = await callTool(sessionId, 'del-1', 'direct_wait', { key: 'delete' }, { progressToken: 'del' });
    // The progress notification made the response a stream before the tool waited.
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    await gate('delete').started.fired;
    const deleted = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL } });
    assert.equal(deleted.status, 200);
    await gate('delete').aborted.fired;
    const messages = await messagesOf(response);
    assert.deepEqual(messages.map((message) => message.method), ['notifications/progress']);
    assert.ok(messages.every((message) => !('result' in message) && !('error' in message)));
  });

  it('relays an upstream’s sampling request to an SDK client that can sample, whose answer reaches the tool', async () => {
    const contentTypes: Array<[string, number, string | null]> = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const sent = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      contentTypes.push([sent?.method ?? ('result' in (sent ?? {}) ? 'answer' : String(init?.method)), response.status, response.headers.get('content-type')]);
      return response;
    };
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recording, requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'sampling-client', version: '1.0.0' }, { capabilities: { sampling: {} } });
    const asked: Array<{ id: unknown; prompt: string }> = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
      asked.push({ id: extra.requestId, prompt: (request.params.messages[0]!.content as { text: string }).text });
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'forty-two' } };
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'direct_sample', arguments: { prompt: 'the answer?' } });
      assert.equal(firstText(result), 'LLM said: forty-two');
      // Sent on the direct call's stream: its requests have string ids, apart from the SDK server's numeric ones.
      assert.equal(asked.length, 1);
      assert.equal(asked[0]!.prompt, 'the answer?');
      assert.match(String(asked[0]!.id), /^gatehouse-[\w-]{8}-\d+$/);
      // The call's answer became a stream for the request; the client's answer to it was taken with 202.
      assert.ok(contentTypes.some(([what, status, type]) => what === 'tools/call' && status === 200 && type === 'text/event-stream'), JSON.stringify(contentTypes));
      assert.ok(contentTypes.some(([what, status]) => what === 'answer' && status === 202), JSON.stringify(contentTypes));
    } finally {
      await client.close();
    }
  });

  it('relays the client’s error answer to a sampling request back to the tool', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'declining-client', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      throw new McpError(-1, 'the user declined');
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'direct_sample', arguments: { prompt: 'may I?' } });
      assert.equal(result.isError, true);
      assert.match(firstText(result), /the user declined/);
    } finally {
      await client.close();
    }
  });

  it('refuses the upstream’s sampling request for a client that cannot sample: the tool fails, nothing hangs', async () => {
    const { client } = await connectWithToken(url, token);
    try {
      const result = await client.callTool({ name: 'direct_sample', arguments: { prompt: 'anyone?' } });
      assert.equal(result.isError, true);
      assert.match(firstText(result), /does not support sampling/);
    } finally {
      await client.close();
    }
  });
});
