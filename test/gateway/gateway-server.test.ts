import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  ElicitRequestSchema,
  ListToolsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Progress,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { createGatewayServer } from '../../src/gateway/gateway-server.js';
import { createGatewayState, type GatewayState } from '../../src/gateway/gateway-state.js';
import type { Principal } from '../../src/gateway/principal.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { ToolCallRecord } from '../../src/store/gateway-types.js';
import { tempDir } from '../helpers/backends.js';
import { testUpstreamRegistry, type TestRegistry, type TestUpstream } from '../helpers/upstream-registry.js';

const LONG_TOOL = `a_tool_whose_name_is_far_too_long_for_clients_${'x'.repeat(24)}`; // 70 characters

const ann: Principal = { userId: 'user_ann', username: 'ann', clientId: 'client_1', grantId: 'grant_1', scopes: new Set(['mcp:read', 'mcp:write']), via: 'access_token' };
const bob: Principal = { ...ann, userId: 'user_bob', username: 'bob' };

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const firstText = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

/** A promise the test can resolve from inside an upstream handler: waiting on an event without sleeping. */
function latch<T = void>() {
  let fire!: (value: T) => void;
  const fired = new Promise<T>((resolve) => (fire = resolve));
  return { fire, fired };
}

type Latch = ReturnType<typeof latch<void>>;

/** alpha: several tools (search, progress, cancellation, errors, a long name), a prompt and a resource. */
function alphaServer(events: { slowStarted: Latch; slowAborted: Latch; calls: string[] }) {
  const server = new McpServer({ name: 'alpha', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool(
    'search',
    {
      title: 'Search alpha',
      description: 'Searches alpha',
      inputSchema: { query: z.string() },
      outputSchema: { hits: z.number() },
      annotations: { readOnlyHint: true, openWorldHint: false },
      _meta: { 'example.com/owner': 'alpha-team' },
    },
    ({ query }) => {
      events.calls.push('alpha.search');
      return { ...text(`alpha found ${query}`), structuredContent: { hits: 3 } };
    },
  );
  server.registerTool('reports_progress', { description: 'Reports progress twice' }, async (extra) => {
    const token = extra._meta?.progressToken;
    if (token !== undefined) {
      for (const progress of [1, 2]) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: 2, message: `step ${progress}` } });
      }
    }
    return text('done');
  });
  server.registerTool('waits_for_cancel', { description: 'Runs until cancelled' }, async (extra) => {
    events.slowStarted.fire();
    await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    events.slowAborted.fire();
    return text('cancelled');
  });
  server.registerTool('fails', { description: 'Always fails' }, () => ({ ...text('it broke'), isError: true }));
  server.registerTool(LONG_TOOL, { description: 'Has a long name' }, () => text('long one answered'));
  server.registerTool('delete_all', { description: 'Destructive', annotations: { destructiveHint: true } }, () => text('deleted'));
  server.registerPrompt('greet', { description: 'Greets', argsSchema: { who: z.string() } }, ({ who }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Hello ${who}` } }],
  }));
  server.registerResource('readme', 'alpha://readme', { mimeType: 'text/plain' }, (uri) => ({ contents: [{ uri: uri.href, text: 'alpha readme' }] }));
  server.registerResource('note', new ResourceTemplate('alpha://notes/{id}', { list: undefined }), {}, (uri, { id }) => ({
    contents: [{ uri: uri.href, text: `note ${String(id)}` }],
  }));
  return server;
}

function betaServer(calls: string[]) {
  const server = new McpServer({ name: 'beta', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('search', { description: 'Searches beta', inputSchema: { query: z.string() } }, ({ query }) => {
    calls.push('beta.search');
    return text(`beta found ${query}`);
  });
  server.registerTool('hangs', { description: 'Never answers' }, (extra) => new Promise<CallToolResult>((resolve) => extra.signal.addEventListener('abort', () => resolve(text('late')))));
  return server;
}

/** A low-level upstream that pages its own tool list (two per page) and answers one tool with a JSON-RPC error. */
function pagingServer() {
  const server = new Server({ name: 'pager', version: '1.0.0' }, { capabilities: { tools: {} } });
  const tools: Tool[] = ['p1', 'p2', 'p3', 'p4', 'boom'].map((name) => ({ name, inputSchema: { type: 'object' } }));
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const offset = Number(request.params?.cursor ?? 0);
    const next = offset + 2;
    return { tools: tools.slice(offset, next), ...(next < tools.length ? { nextCursor: String(next) } : {}) };
  });
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    if (request.params.name === 'boom') throw Object.assign(new Error('the pager refuses'), { code: 4242, data: { secret: 'hidden' } });
    return text(`pager ran ${request.params.name}`);
  });
  return server;
}

/** The gateway state of `registry`, one per registry as the app makes one per gateway: sessions of a test share it. */
const gateways = new Map<TestRegistry, GatewayState>();
function gatewayOf(registry: TestRegistry, runtime: Runtime): GatewayState {
  let gateway = gateways.get(registry);
  if (!gateway) gateways.set(registry, (gateway = createGatewayState({ registry, deps: runtime, logger: { warn: () => undefined } })));
  return gateway;
}

async function connectClient(principal: Principal, registry: TestRegistry, runtime: Runtime, pageSize?: number) {
  const server = createGatewayServer({ principal, gateway: gatewayOf(registry, runtime), pageSize });
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  return client;
}

/** A gateway server and a client declaring form elicitation that answers every elicitation with `answer`. */
async function elicitingPair(registry: TestRegistry, runtime: Runtime, answer: Record<string, unknown>) {
  const server = createGatewayServer({ principal: ann, gateway: gatewayOf(registry, runtime) });
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: answer }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  return { server, client };
}

async function allToolNames(client: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    names.push(...page.tools.map((tool) => tool.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names;
}

/** The audit records so far, waiting (by polling the store) until `count` exist: the record is written as the call ends. */
async function auditRecords(runtime: Runtime, count: number): Promise<ToolCallRecord[]> {
  for (let attempt = 0; ; attempt++) {
    const records = await runtime.store.toolCalls.list({ limit: 100 });
    if (records.length >= count || attempt > 200) return records;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the gateway server', () => {
  let runtime: Runtime;
  let registry: TestRegistry;
  let dir: ReturnType<typeof tempDir>;
  let alpha: McpServer;
  let beta: TestUpstream;
  const events = { slowStarted: latch(), slowAborted: latch(), calls: [] as string[] };

  before(async () => {
    dir = tempDir();
    runtime = await openRuntime(loadConfig({ dataDir: dir.dir, noDemo: true }, {}));
    registry = testUpstreamRegistry();
    alpha = alphaServer(events);
    await registry.add({ name: 'alpha', server: alpha });
    beta = await registry.add({ name: 'beta', server: betaServer(events.calls), settings: { timeout_ms: 300 } });
    await registry.add({ name: 'pager', server: pagingServer() });
  });

  after(async () => {
    gateways.get(registry)?.close();
    await registry.close();
    await runtime.close();
    dir.remove();
  });

  it('lists tools of two upstreams with the same tool name distinctly, and each call reaches its own upstream', async () => {
    const client = await connectClient(ann, registry, runtime);
    const names = await allToolNames(client);
    assert.ok(names.includes('alpha_search') && names.includes('beta_search'), names.join());
    assert.equal(firstText(await client.callTool({ name: 'beta_search', arguments: { query: 'q' } })), 'beta found q');
    assert.equal(firstText(await client.callTool({ name: 'alpha_search', arguments: { query: 'q' } })), 'alpha found q');
    assert.deepEqual(events.calls.slice(-2), ['beta.search', 'alpha.search']);
  });

  it('a 70-character tool name is listed within 64 characters and calling it reaches the tool', async () => {
    const client = await connectClient(ann, registry, runtime);
    const long = (await allToolNames(client)).find((name) => name.startsWith('alpha_a_tool_whose_name'));
    assert.ok(long && long.length <= 64 && /^[a-zA-Z0-9_-]+$/.test(long), long);
    assert.equal(firstText(await client.callTool({ name: long })), 'long one answered');
  });

  it('paginates the merged list across upstreams, following an upstream that paginates itself', async () => {
    const client = await connectClient(ann, registry, runtime, 3);
    const first = await client.listTools();
    assert.equal(first.tools.length, 3);
    assert.ok(first.nextCursor);
    const names = await allToolNames(client);
    assert.equal(new Set(names).size, names.length, 'no tool twice');
    for (const name of ['pager_p1', 'pager_p2', 'pager_p3', 'pager_p4', 'pager_boom', 'alpha_search', 'beta_hangs']) assert.ok(names.includes(name), name);
    assert.equal(names.length, 6 + 2 + 5);
    await assert.rejects(client.listTools({ cursor: 'not-a-cursor' }), (error: McpError) => error.code === -32602);
  });

  it('passes title, annotations, output schema, _meta and structured content through unchanged', async () => {
    const client = await connectClient(ann, registry, runtime);
    const tool = (await client.listTools()).tools.find((item) => item.name === 'alpha_search')!;
    assert.equal(tool.title, 'Search alpha');
    assert.deepEqual(tool.annotations, { readOnlyHint: true, openWorldHint: false });
    assert.deepEqual(tool._meta, { 'example.com/owner': 'alpha-team' });
    assert.deepEqual(Object.keys(tool.outputSchema?.properties ?? {}), ['hits']);
    const result = await client.callTool({ name: 'alpha_search', arguments: { query: 'x' } });
    assert.deepEqual(result.structuredContent, { hits: 3 });
  });

  it('relays upstream progress to the client under the client’s own progress token', async () => {
    const client = await connectClient(ann, registry, runtime);
    const seen: Progress[] = [];
    const result = await client.callTool({ name: 'alpha_reports_progress' }, undefined, { onprogress: (progress) => seen.push(progress) });
    assert.equal(firstText(result), 'done');
    assert.deepEqual(seen.map((p) => [p.progress, p.total, p.message]), [[1, 2, 'step 1'], [2, 2, 'step 2']]);
  });

  it('cancelling the call downstream aborts the upstream tool, and the audit says cancelled', { timeout: 10_000 }, async () => {
    const client = await connectClient(ann, registry, runtime);
    const controller = new AbortController();
    const call = client.callTool({ name: 'alpha_waits_for_cancel' }, undefined, { signal: controller.signal });
    await events.slowStarted.fired;
    controller.abort('user stopped it');
    await assert.rejects(call);
    await events.slowAborted.fired;
    let record: ToolCallRecord | undefined;
    for (let attempt = 0; !record && attempt < 200; attempt++) {
      record = (await runtime.store.toolCalls.list({ limit: 100, tool: 'waits_for_cancel' }))[0];
      if (!record) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(record?.outcome, 'cancelled');
  });

  it('a tool’s own error result passes through unchanged', async () => {
    const client = await connectClient(ann, registry, runtime);
    const result = await client.callTool({ name: 'alpha_fails' });
    assert.equal(result.isError, true);
    assert.equal(firstText(result), 'it broke');
  });

  it('an upstream’s JSON-RPC error reaches the client with its code and message, marked as the upstream’s', async () => {
    const client = await connectClient(ann, registry, runtime);
    await assert.rejects(client.callTool({ name: 'pager_boom' }), (error: McpError) => {
      assert.equal(error.code, 4242);
      assert.equal(error.message, 'MCP error 4242: the pager refuses');
      assert.deepEqual(error.data, { upstream: 'pager' });
      return true;
    });
  });

  it('an upstream that does not answer gives an error result naming the timeout', async () => {
    const client = await connectClient(ann, registry, runtime);
    const result = await client.callTool({ name: 'beta_hangs' });
    assert.equal(result.isError, true);
    assert.equal(firstText(result), 'Upstream "beta" did not answer within 300 ms');
  });

  it('an upstream that is down answers with an error result without being called, while the others still work', async () => {
    const client = await connectClient(ann, registry, runtime);
    await client.listTools();
    const before = events.calls.length;
    beta.markDown('connection refused');
    try {
      const result = await client.callTool({ name: 'beta_search', arguments: { query: 'q' } });
      assert.equal(result.isError, true);
      assert.equal(firstText(result), 'Upstream "beta" is unavailable: connection refused');
      assert.equal(events.calls.length, before, 'the down upstream was not called');
      assert.equal(firstText(await client.callTool({ name: 'alpha_search', arguments: { query: 'q' } })), 'alpha found q');
      assert.ok(!(await allToolNames(client)).some((name) => name.startsWith('beta_')), 'a down upstream lists nothing');
    } finally {
      beta.markUp();
    }
  });

  it('an unknown tool is -32602', async () => {
    const client = await connectClient(ann, registry, runtime);
    await assert.rejects(client.callTool({ name: 'alpha_nope' }), (error: McpError) => error.code === -32602);
    await assert.rejects(client.callTool({ name: 'nobody_search' }), (error: McpError) => error.code === -32602);
  });

  it('routes prompts/get by the prefixed name and resources/read by URI', async () => {
    const client = await connectClient(ann, registry, runtime);
    assert.deepEqual((await client.listPrompts()).prompts.map((prompt) => prompt.name), ['alpha_greet']);
    const prompt = await client.getPrompt({ name: 'alpha_greet', arguments: { who: 'Ann' } });
    assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'Hello Ann' });
    assert.deepEqual((await client.listResources()).resources.map((resource) => resource.uri), ['alpha://readme']);
    const read = await client.readResource({ uri: 'alpha://readme' });
    assert.equal((read.contents[0] as { text: string }).text, 'alpha readme');
    await assert.rejects(client.readResource({ uri: 'alpha://missing' }), (error: McpError) => error.code === -32002);
    assert.deepEqual((await client.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate), ['alpha://notes/{id}']);
    const note = await client.readResource({ uri: 'alpha://notes/7' });
    assert.equal((note.contents[0] as { text: string }).text, 'note 7', 'a URI no upstream listed is routed by the template that matches it');
  });

  it('records every call in the audit with its outcome', async () => {
    const client = await connectClient(ann, registry, runtime);
    await client.callTool({ name: 'alpha_fails' });
    const records = await auditRecords(runtime, 1);
    const failed = records.find((record) => record.tool === 'fails');
    assert.equal(failed?.outcome, 'tool_error');
    assert.equal(failed?.userId, 'user_ann');
    assert.equal(failed?.upstreamName, 'alpha');
    assert.ok(records.some((record) => record.tool === 'boom' && record.outcome === 'upstream_error'));
    assert.ok(records.some((record) => record.tool === 'hangs' && record.outcome === 'timeout'));
  });

  it('a tool registered upstream makes the gateway send tools/list_changed, and the new tool is listed', { timeout: 10_000 }, async () => {
    const client = await connectClient(ann, registry, runtime);
    await client.listTools();
    const changed = latch();
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed.fire());
    alpha.registerTool('added_later', { description: 'New' }, () => text('new'));
    await changed.fired;
    assert.ok((await allToolNames(client)).includes('alpha_added_later'));
  });

  it('a session that closed is told nothing more, while the sessions still open get the list change', { timeout: 10_000 }, async () => {
    const closing = await connectClient(ann, registry, runtime);
    const open = await connectClient(bob, registry, runtime);
    let toldClosed = 0;
    closing.setNotificationHandler(ToolListChangedNotificationSchema, () => void (toldClosed += 1));
    const changed = latch();
    open.setNotificationHandler(ToolListChangedNotificationSchema, () => changed.fire());
    await closing.close();
    alpha.registerTool('added_after_close', { description: 'New' }, () => text('new'));
    await changed.fired;
    assert.equal(toldClosed, 0);
    assert.ok((await allToolNames(open)).includes('alpha_added_after_close'));
  });

  it('relays upstream log messages, named after the upstream, to sessions that may use it', { timeout: 10_000 }, async () => {
    const client = await connectClient(ann, registry, runtime);
    const received = latch<LoggingMessageNotification['params']>();
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => received.fire(notification.params));
    await alpha.sendLoggingMessage({ level: 'warning', logger: 'indexer', data: 'disk nearly full' });
    assert.deepEqual(await received.fired, { level: 'warning', logger: 'alpha/indexer', data: 'disk nearly full' });
  });

  it('declares the same name and capabilities to every client', async () => {
    for (const { client } of [await elicitingPair(registry, runtime, {}), await elicitingPair(registry, runtime, {})]) {
      assert.deepEqual(client.getServerCapabilities(), {
        tools: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      });
      assert.deepEqual(client.getServerVersion(), { name: 'gatehouse', title: 'Gatehouse', version: '0.1.0' });
    }
  });

  it('still checks form elicitation answers against the requested schema, formats included (its validator is built on first use)', async () => {
    const requestedSchema = {
      type: 'object' as const,
      properties: { age: { type: 'number' as const }, email: { type: 'string' as const, format: 'email' as const } },
      required: ['age'],
    };
    const elicit = async (answer: Record<string, unknown>) =>
      (await elicitingPair(registry, runtime, answer)).server.elicitInput({ mode: 'form', message: 'Your age?', requestedSchema });
    assert.deepEqual(await elicit({ age: 42, email: 'ann@example.com' }), { action: 'accept', content: { age: 42, email: 'ann@example.com' } });
    await assert.rejects(elicit({ age: 'old' }), /does not match requested schema/);
    await assert.rejects(elicit({ age: 42, email: 'not an address' }), /does not match requested schema/);
  });
});

describe('gateway policy as clients see it', () => {
  let runtime: Runtime;
  let registry: TestRegistry;
  let dir: ReturnType<typeof tempDir>;
  const calls: string[] = [];
  const privateServer = betaServer(calls);

  before(async () => {
    dir = tempDir();
    runtime = await openRuntime(loadConfig({ dataDir: dir.dir, noDemo: true }, {}));
    registry = testUpstreamRegistry();
    await registry.add({ name: 'private', server: privateServer, settings: { allowed_users: ['ann'] } });
    const open = new McpServer({ name: 'open', version: '1.0.0' });
    for (const name of ['read', 'drop']) open.registerTool(name, { description: name }, () => (calls.push(`open.${name}`), text(name)));
    await registry.add({ name: 'open', server: open, settings: { tools_to_skip: ['drop'] } });
  });

  after(async () => {
    gateways.get(registry)?.close();
    await registry.close();
    await runtime.close();
    dir.remove();
  });

  it('a user not in allowed_users sees none of that upstream’s tools and gets -32602 calling one', async () => {
    const asAnn = await connectClient(ann, registry, runtime);
    assert.ok((await allToolNames(asAnn)).includes('private_search'));
    const asBob = await connectClient(bob, registry, runtime);
    assert.deepEqual(await allToolNames(asBob), ['open_read']);
    await assert.rejects(asBob.callTool({ name: 'private_search', arguments: { query: 'q' } }), (error: McpError) => {
      assert.equal(error.code, -32602);
      assert.equal(error.message, 'MCP error -32602: Unknown tool: private_search', 'the same answer as for a tool that does not exist');
      return true;
    });
    assert.ok(!calls.includes('beta.search'), 'the hidden upstream was never called');
    const denied = (await auditRecords(runtime, 1)).find((record) => record.userId === 'user_bob');
    assert.equal(denied?.outcome, 'denied');
  });

  it('a tool in tools_to_skip is neither listed nor callable', async () => {
    const client = await connectClient(ann, registry, runtime);
    const names = await allToolNames(client);
    assert.ok(names.includes('open_read') && !names.includes('open_drop'), names.join());
    await assert.rejects(client.callTool({ name: 'open_drop' }), (error: McpError) => error.code === -32602);
    assert.ok(!calls.includes('open.drop'));
    assert.equal(firstText(await client.callTool({ name: 'open_read' })), 'read');
  });

  it('a user who may not use an upstream receives none of its log messages', { timeout: 10_000 }, async () => {
    const asBob = await connectClient(bob, registry, runtime);
    const asAnn = await connectClient(ann, registry, runtime);
    const bobSaw: unknown[] = [];
    asBob.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void bobSaw.push(notification.params));
    const annSaw = latch();
    asAnn.setNotificationHandler(LoggingMessageNotificationSchema, () => annSaw.fire());
    await privateServer.sendLoggingMessage({ level: 'info', data: 'private news' });
    await annSaw.fired;
    // Messages on one session arrive in order: had Bob been sent the log, it would precede this ping's answer.
    await asBob.ping();
    assert.deepEqual(bobSaw, []);
  });

});

describe('log messages of a per-user upstream', () => {
  let runtime: Runtime;
  let registry: TestRegistry;
  let dir: ReturnType<typeof tempDir>;
  const personalServer = betaServer([]);
  const sharedServer = betaServer([]);

  before(async () => {
    dir = tempDir();
    runtime = await openRuntime(loadConfig({ dataDir: dir.dir, noDemo: true }, {}));
    registry = testUpstreamRegistry();
    await registry.add({ name: 'personal', server: personalServer, settings: { auth_type: 'per_user_oauth' } });
    await registry.add({ name: 'shared', server: sharedServer });
  });

  after(async () => {
    gateways.get(registry)?.close();
    await registry.close();
    await runtime.close();
    dir.remove();
  });

  it('reach nobody: its shared connection is some user’s own account', { timeout: 10_000 }, async () => {
    const asAnn = await connectClient(ann, registry, runtime);
    const annSaw: unknown[] = [];
    const marker = latch();
    asAnn.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      annSaw.push(notification.params);
      if ((notification.params as { data: unknown }).data === 'marker') marker.fire();
    });
    await personalServer.sendLoggingMessage({ level: 'info', data: 'someone else’s news' });
    // Messages reach a session in order: had the per-user upstream's log been relayed, it would come first.
    await sharedServer.sendLoggingMessage({ level: 'info', data: 'marker' });
    await marker.fired;
    assert.deepEqual(annSaw.map((params) => (params as { data: unknown }).data), ['marker']);
  });
});

describe('an upstream that does not answer its listing', () => {
  let runtime: Runtime;
  let registry: TestRegistry;
  let dir: ReturnType<typeof tempDir>;

  before(async () => {
    dir = tempDir();
    runtime = await openRuntime(loadConfig({ dataDir: dir.dir, noDemo: true }, {}));
    registry = testUpstreamRegistry();
    const stuck = new Server({ name: 'stuck', version: '1.0.0' }, { capabilities: { tools: {} } });
    stuck.setRequestHandler(ListToolsRequestSchema, (_request, extra) => new Promise((resolve) => extra.signal.addEventListener('abort', () => resolve({ tools: [] }))));
    await registry.add({ name: 'stuck', server: stuck, settings: { timeout_ms: 200 } });
    await registry.add({ name: 'fine', server: betaServer([]) });
  });

  after(async () => {
    gateways.get(registry)?.close();
    await registry.close();
    await runtime.close();
    dir.remove();
  });

  it('does not keep the others from being listed: it lists nothing once its timeout passes', { timeout: 10_000 }, async () => {
    const client = await connectClient(ann, registry, runtime);
    assert.deepEqual((await allToolNames(client)).sort(), ['fine_hangs', 'fine_search']);
  });
});
