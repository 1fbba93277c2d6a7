import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  LoggingMessageNotificationSchema,
  ProgressNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { basicAuth, freePort } from '../helpers/app.js';
import { freshPostgresSchema, tempDir } from '../helpers/backends.js';
import { MAX_MCP_SESSIONS_PER_USER } from '../../src/gateway/mcp-sessions.js';
import { eventually, mcpAt, roundRobinBalancer, type Forwarded } from '../helpers/fleet.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { obtainAccessToken } from '../helpers/mcp-session.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';

/**
 * Server-to-client traffic of one MCP session across a fleet (three `gatehouse serve` on one PostgreSQL schema, one
 * key, a round-robin balancer without affinity), driven by the MCP SDK client and by mcp-remote (the stdio bridge
 * many desktop clients use, given the bearer with its `--header` option so that it never opens a browser): progress
 * and log messages of calls served by another replica than the one holding the client's GET stream, sampling during
 * `tools/call` and `prompts/get` with answers larger than a PostgreSQL NOTIFY landing on other replicas; and the
 * per-user session cap counted across the fleet.
 */

const ADMIN = { username: 'admin', password: CHILD_ADMIN_PASSWORD };
/** Over PostgreSQL's 8000-byte NOTIFY limit: such an answer goes between replicas through the fleet_messages table. */
const LARGE_ANSWER_CHARS = 20_000;
const MCP_REMOTE = path.resolve('node_modules/mcp-remote/dist/proxy.js');
const PROTOCOL = '2025-06-18';

/** Lets the worker's slow calls finish (those of a killed replica's connection wait for it). */
const slowCalls = (() => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released, release };
})();

/** An upstream whose tool reports progress and logs, and whose tool and prompt ask the client to sample. */
function workerUpstream(): McpServer {
  const server = new McpServer({ name: 'worker', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('work', { description: 'Reports progress and logs while it works', inputSchema: { label: z.string() } }, async ({ label }, extra) => {
    const progressToken = extra._meta?.progressToken;
    for (let step = 1; step <= 2; step++) {
      if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: 2 } });
    }
    await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'worker', data: `working on ${label}` } });
    return { content: [{ type: 'text', text: `done: ${label}` }] };
  });
  const sample = async (prompt: string, extra: { sendRequest: McpServer['server']['request'] }) => {
    const params = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt } }], maxTokens: 50 };
    const answer = await extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema, { timeout: 10_000 });
    return answer.content.type === 'text' ? answer.content.text : '';
  };
  // Holds its call until the test lets it go, after telling the client it started (which opens the call's SSE answer).
  server.registerTool('slow', { description: 'Waits to be released', inputSchema: { label: z.string() } }, async ({ label }, extra) => {
    const progressToken = extra._meta?.progressToken;
    if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 0 } });
    await Promise.race([slowCalls.released, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    return { content: [{ type: 'text', text: `slow done: ${label}` }] };
  });
  server.registerTool('ask_llm', { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const text = await sample(prompt, extra);
    return { content: [{ type: 'text', text: `${text.length} chars, starting ${text.slice(0, 12)}` }] };
  });
  server.registerPrompt('summary', { description: 'Samples while it is built', argsSchema: { topic: z.string() } }, async ({ topic }, extra) => {
    const text = await sample(topic, extra);
    return { messages: [{ role: 'user', content: { type: 'text', text: `${text.length} chars, starting ${text.slice(0, 12)}` } }] };
  });
  return server;
}

/** A sampling client's answer: LARGE_ANSWER_CHARS characters that start with the prompt. */
const largeAnswerTo = (prompt: string) => `${prompt}:${'z'.repeat(LARGE_ANSWER_CHARS)}`.slice(0, LARGE_ANSWER_CHARS);
const summaryOf = (prompt: string) => `${LARGE_ANSWER_CHARS} chars, starting ${largeAnswerTo(prompt).slice(0, 12)}`;

/**
 * A client that can sample (answering LARGE_ANSWER_CHARS characters) and collects the log messages and progress it is
 * sent. Progress is collected by its token here, not with the SDK's `onprogress`: the SDK client handles a
 * notification a microtask later than a response, so progress that arrives in one chunk with its call's result
 * (as mcp-remote's stdio often delivers it) would find the call's handler gone.
 */
async function samplingClient(transport: Transport): Promise<{ client: Client; logs: LoggingMessageNotification['params'][]; progress: Map<string, Progress[]> }> {
  const client = new Client({ name: 'fleet-client', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const prompt = request.params.messages[0]?.content;
    return { role: 'assistant', model: 'test-model', content: { type: 'text', text: largeAnswerTo(prompt && 'text' in prompt ? prompt.text : '?') } };
  });
  const logs: LoggingMessageNotification['params'][] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logs.push(notification.params));
  const progress = new Map<string, Progress[]>();
  client.setNotificationHandler(ProgressNotificationSchema, ({ params: { progressToken, ...reported } }) => {
    progress.set(String(progressToken), [...(progress.get(String(progressToken)) ?? []), reported]);
  });
  await client.connect(transport);
  return { client, logs, progress };
}

/** Whether a POST carrying a client's answer (a result) landed on another replica than the request it answers. */
function answersCrossed(forwarded: Forwarded[], method: string): boolean {
  const posts = forwarded.filter((entry) => entry.method === 'POST');
  return posts.some((call, index) => call.body?.includes(`"${method}"`) && posts.slice(index + 1).some((next) => next.body?.includes('"result"') && next.target !== call.target));
}

describe('MCP sessions and their server-to-client traffic across three replicas', { timeout: 240_000 }, () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  const replicas: GatehouseChild[] = [];
  let balancer: Awaited<ReturnType<typeof roundRobinBalancer>>;
  let publicUrl: string;
  let worker: ConformanceUpstream;
  let token: string;
  const clients: Client[] = [];
  const dead = new Set<string>();
  const admin = { authorization: basicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' };

  before(async () => {
    schema = await freshPostgresSchema();
    worker = await startConformanceUpstream(workerUpstream);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    const env = { GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex'), GATEHOUSE_DATABASE_URL: schema.url };
    const args = ['--public-url', publicUrl, '--allow-private-networks', '--no-demo'];
    for (let i = 0; i < 3; i++) replicas.push(await startGatehouseChild(args, env));
    balancer = await roundRobinBalancer(port, () => replicas.map((replica) => replica.url).filter((url) => !dead.has(url)));
    token = (await obtainAccessToken(publicUrl, ADMIN)).access_token;
    const added = await fetch(`${replicas[0]!.url}/api/mcp/client`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'worker', connection_type: 'http', connection_string: worker.url, timeout_ms: 15_000 }),
    });
    assert.equal(added.status, 201, await added.text());
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    balancer?.server.closeAllConnections();
    balancer?.server.close();
    slowCalls.release();
    for (const replica of replicas) await replica.stop().catch(() => undefined);
    await worker?.close();
    await schema?.drop();
  });

  const sdkClient = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const connected = await samplingClient(transport);
    clients.push(connected.client);
    return { ...connected, transport };
  };
  const workerListedEverywhere = (transport: StreamableHTTPClientTransport) =>
    eventually('the worker’s tools on every replica', async () => {
      const listed = await Promise.all(replicas.map(async (replica) => (await mcpAt(replica, token, transport).post({ jsonrpc: '2.0', id: 9, method: 'tools/list' })).text()));
      return listed.every((text) => text.includes('worker_work')) ? true : undefined;
    });

  it('progress and log messages of calls served by every replica reach the SDK client, whose GET stream one replica holds', async () => {
    const forwardedBefore = balancer.forwarded.length;
    const { client, transport, logs, progress } = await sdkClient();
    await workerListedEverywhere(transport);
    const stream = await eventually('the client’s GET stream', () => balancer.forwarded.slice(forwardedBefore).find((entry) => entry.method === 'GET'));
    const callsBefore = balancer.forwarded.length;
    for (let i = 0; i < 6; i++) {
      const result = (await client.callTool({ name: 'worker_work', arguments: { label: `job ${i}` }, _meta: { progressToken: `job-${i}` } })) as CallToolResult;
      assert.deepEqual(result.content, [{ type: 'text', text: `done: job ${i}` }]);
      const reported = await eventually(`the progress of call ${i}`, () => (progress.get(`job-${i}`)?.length === 2 ? progress.get(`job-${i}`) : undefined));
      assert.deepEqual(reported.map(({ progress: done, total }) => [done, total]), [[1, 2], [2, 2]]);
      await eventually(`the log message of call ${i}`, () => (logs.some((log) => log.data === `working on job ${i}`) ? true : undefined));
    }
    const callTargets = balancer.forwarded.slice(callsBefore).filter((entry) => entry.body?.includes('"tools/call"')).map((entry) => entry.target);
    assert.ok(callTargets.some((target) => target !== stream.target), 'some calls were served by another replica than the one holding the GET stream');
    assert.equal(logs.filter((log) => log.data === 'working on job 0').length, 1, 'each message once, not once per replica');
  });

  it('sampling during tools/call and prompts/get: answers over the NOTIFY limit reach the waiting request from any replica', async () => {
    const forwardedBefore = balancer.forwarded.length;
    const { client, transport } = await sdkClient();
    await workerListedEverywhere(transport);
    for (let i = 0; i < 4; i++) {
      const called = (await client.callTool({ name: 'worker_ask_llm', arguments: { prompt: `question ${i}` } })) as CallToolResult;
      assert.deepEqual(called.content, [{ type: 'text', text: summaryOf(`question ${i}`) }]);
      const prompt = await client.getPrompt({ name: 'worker_summary', arguments: { topic: `topic ${i}` } });
      assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: summaryOf(`topic ${i}`) });
    }
    const forwarded = balancer.forwarded.slice(forwardedBefore);
    assert.ok(answersCrossed(forwarded, 'tools/call'), 'an answer to a call’s sampling request landed on another replica than the call');
    assert.ok(answersCrossed(forwarded, 'prompts/get'), 'an answer to a prompts/get’s sampling request landed on another replica than the request');
  });

  /** mcp-remote toward the balancer, with the bearer as a header (so it never starts its browser sign-in), its state in a temp dir. */
  const mcpRemote = () => {
    const config = tempDir('mcp-remote-');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, `${publicUrl}/mcp`, '--transport', 'http-only', '--allow-http', '--header', `Authorization:Bearer ${token}`],
      env: { ...process.env, MCP_REMOTE_CONFIG_DIR: config.dir } as Record<string, string>,
      stderr: 'pipe',
    });
    return { transport, config };
  };

  it('mcp-remote: initialize, list, call with progress, a sampling round-trip and tools/list_changed, its requests landing on every replica', async () => {
    const forwardedBefore = balancer.forwarded.length;
    const { transport, config } = mcpRemote();
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    try {
      const { client, logs, progress } = await samplingClient(transport);
      clients.push(client);
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      assert.ok(tools.includes('worker_work') && tools.includes('worker_ask_llm'), `listed through mcp-remote: ${tools.join(', ')}`);
      for (let i = 0; i < 3; i++) {
        const result = (await client.callTool({ name: 'worker_work', arguments: { label: `remote ${i}` }, _meta: { progressToken: `remote-${i}` } })) as CallToolResult;
        assert.deepEqual(result.content, [{ type: 'text', text: `done: remote ${i}` }]);
        await eventually(`the progress of call ${i}`, () => (progress.get(`remote-${i}`)?.length === 2 ? true : undefined));
        const sampled = (await client.callTool({ name: 'worker_ask_llm', arguments: { prompt: `remote question ${i}` } })) as CallToolResult;
        assert.deepEqual(sampled.content, [{ type: 'text', text: summaryOf(`remote question ${i}`) }]);
      }
      await eventually('a log message through mcp-remote', () => (logs.some((log) => log.data === 'working on remote 0') ? true : undefined));
      // An upstream added through one replica: the stream mcp-remote holds on some replica hears of it.
      let listChangedAt: number | undefined;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void (listChangedAt ??= Date.now()));
      const addedAt = Date.now();
      const added = await fetch(`${replicas[2]!.url}/api/mcp/client`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'second', connection_type: 'http', connection_string: worker.url }),
      });
      assert.equal(added.status, 201, await added.text());
      await eventually('tools/list_changed through mcp-remote', () => listChangedAt);
      console.log(`# mcp-remote's client heard tools/list_changed ${listChangedAt! - addedAt} ms after the request adding an upstream was sent`);
      const forwarded = balancer.forwarded.slice(forwardedBefore);
      assert.deepEqual(new Set(forwarded.map((entry) => entry.target)), new Set(replicas.map((replica) => replica.url)), 'every replica served mcp-remote');
      assert.ok(answersCrossed(forwarded, 'tools/call'), 'a sampling answer landed on another replica than its call');
      assert.doesNotMatch(stderr, /authorization URL|Please authorize/i, 'mcp-remote never asked for a browser sign-in');
    } catch (error) {
      throw new Error(`${String(error)}\nmcp-remote said:\n${stderr}`, { cause: error });
    } finally {
      await transport.close().catch(() => undefined);
      config.remove();
    }
  });

  it('the per-user session cap counts the user’s sessions on every replica: the one over it ends the oldest everywhere', async () => {
    const user = { username: 'capped', password: 'capped-Pw-12345' };
    const created = await fetch(`${publicUrl}/api/users`, { method: 'POST', headers: admin, body: JSON.stringify(user) });
    assert.equal(created.status, 201, await created.text());
    const bearer = `Bearer ${(await obtainAccessToken(publicUrl, user)).access_token}`;
    const headers = { authorization: bearer, accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': PROTOCOL };
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'cap', version: '1' } } };
    const open = async () => {
      const response = await fetch(`${publicUrl}/mcp`, { method: 'POST', headers, body: JSON.stringify(initialize) });
      await response.text();
      assert.equal(response.status, 200);
      return response.headers.get('mcp-session-id')!;
    };
    const listAt = async (replica: GatehouseChild, sessionId: string) => {
      const response = await fetch(`${replica.url}/mcp`, { method: 'POST', headers: { ...headers, 'mcp-session-id': sessionId }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      await response.text();
      return response.status;
    };
    const sessions: string[] = [];
    // Round-robin: each replica opened a third of them, and holds only those.
    for (let i = 0; i < MAX_MCP_SESSIONS_PER_USER; i++) {
      sessions.push(await open());
      // The oldest is told apart by its last use (in ms), not by its random id.
      if (i === 0) await sleep(5);
    }
    const [oldest, second] = sessions as [string, string];
    for (const replica of replicas) assert.equal(await listAt(replica, oldest), 200, 'every replica holds the oldest session now');
    const newest = await open();
    for (const replica of replicas) {
      await eventually(`the oldest session ended at ${replica.url}`, async () => ((await listAt(replica, oldest)) === 404 ? true : undefined));
      assert.equal(await listAt(replica, second), 200, 'the others go on');
      assert.equal(await listAt(replica, newest), 200);
    }
  });

  // Last: it kills a replica.
  it('mcp-remote: a replica killed (SIGKILL) mid-call loses only that call; the retry is served by another, in the same session', async () => {
    const { transport, config } = mcpRemote();
    try {
      const { client } = await samplingClient(transport);
      clients.push(client);
      const before = (await client.callTool({ name: 'worker_work', arguments: { label: 'before' } })) as CallToolResult;
      assert.deepEqual(before.content, [{ type: 'text', text: 'done: before' }]);
      const forwardedBefore = balancer.forwarded.length;
      const doomed = client.callTool({ name: 'worker_slow', arguments: { label: 'doomed' }, _meta: { progressToken: 'doomed' } }, CallToolResultSchema, { timeout: 5_000 });
      const serving = await eventually('the replica serving the slow call', () =>
        balancer.forwarded.slice(forwardedBefore).find((entry) => entry.body?.includes('worker_slow'))?.target,
      );
      const victim = replicas.find((replica) => replica.url === serving)!;
      victim.serving.child.kill('SIGKILL');
      await victim.serving.exited;
      dead.add(victim.url);
      await assert.rejects(doomed, 'the call in flight on the killed replica is lost');
      const postsAfter = balancer.forwarded.length;
      const retried = (await client.callTool({ name: 'worker_work', arguments: { label: 'retried' } })) as CallToolResult;
      assert.deepEqual(retried.content, [{ type: 'text', text: 'done: retried' }]);
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      assert.ok(tools.includes('worker_work'));
      const servedAfter = new Set(balancer.forwarded.slice(postsAfter).map((entry) => entry.target));
      assert.ok(!servedAfter.has(victim.url) && servedAfter.size > 0, 'the live replicas served the session after the kill');
      const sessions = new Set(balancer.forwarded.slice(forwardedBefore).map((entry) => entry.sessionId).filter(Boolean));
      assert.equal(sessions.size, 1, 'one session throughout');
    } finally {
      await transport.close().catch(() => undefined);
      config.remove();
    }
  });
});
