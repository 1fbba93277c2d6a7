import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { createCatalog, fetchAllPages } from '../../src/gateway/catalog.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { eventsOf } from '../helpers/sse-events.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { startStatelessUpstream, STATELESS_TOOLS, STATELESS_VERSION, type FixtureEntry, type StatelessUpstream } from '../fixtures/upstreams/stateless-server.js';

/**
 * A 2025-era client (the SDK 1.x) reaching an MCP 2026-07-28 upstream through a real Gatehouse (and, for
 * `x-mcp-header`, a 2026-07-28 client too): Gatehouse finds the upstream's era with `server/discover`, speaks to it
 * statelessly (per-request `_meta`, routing and `Mcp-Param-*` headers with the upstream's own names), and translates
 * what differs: `input_required` into a sampling request relayed to the client and a retry, a closed stream for a
 * cancellation, `subscriptions/listen` into list changes and resource updates, the session's `logging/setLevel`
 * into each request's log level. A 2025 upstream beside it is still reached with `initialize`, as before.
 */

const firstText = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

/** A tool whose result carries keys of every era: structured content, an error flag, `_meta` of the upstream's own. */
const TAGGED: FixtureEntry = {
  definition: { name: 'tagged', description: 'Answers with structured content and metadata of its own', inputSchema: { type: 'object', properties: {} } },
  answer: () => ({ result: { content: [{ type: 'text', text: 'tagged' }], structuredContent: { n: 1 }, isError: false, _meta: { 'com.example/trace': 't-1' } } }),
};

/** A tool of what 2026-07-28 allows and 2025 does not: an array output schema, structured content an array (with its text). */
const FORECAST: FixtureEntry = {
  definition: { name: 'forecast', description: 'Hourly temperatures', inputSchema: { type: 'object', properties: {} }, outputSchema: { type: 'array', items: { type: 'number' } } },
  answer: () => ({ result: { content: [{ type: 'text', text: '[12,14]' }], structuredContent: [12, 14] } }),
};

describe('a 2026-07-28 upstream reached by a 2025 client through the gateway', { timeout: 60_000 }, () => {
  const files = tempDir('gatehouse-stateless-upstream-');
  let modern: StatelessUpstream;
  let legacy: HttpUpstream;
  let gatehouse: TestApp;
  let client: Client;
  let token: string;
  const sampled: CreateMessageRequest[] = [];

  const requestsFor = (method: string) => modern.requests.filter((request) => request.body.method === method);

  before(async () => {
    modern = await startStatelessUpstream({ tools: [TAGGED, FORECAST] });
    legacy = await startHttpUpstream({ name: 'legacy' });
    const configFile = path.join(files.dir, 'gatehouse.json');
    writeFileSync(configFile, JSON.stringify({
      upstreams: [
        { name: 'modern', connection_type: 'http', connection_string: modern.url },
        { name: 'legacy', connection_type: 'http', connection_string: legacy.url },
        { name: 'local', connection_type: 'stdio', stdio_config: { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/upstreams/stateless-stdio-server.ts'] } },
      ],
    }));
    gatehouse = await startTestApp({ listen: true, flags: { config: configFile, noDemo: true } });
    const deadline = Date.now() + 10_000;
    while (!gatehouse.runtime.upstreams.all().every((upstream) => upstream.status().state === 'connected')) {
      if (Date.now() > deadline) assert.fail(`the upstreams did not connect: ${JSON.stringify(gatehouse.runtime.upstreams.all().map((upstream) => upstream.status()))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const user = await gatehouse.runtime.users.create({ username: 'ann', password: 'ann-Password-1' });
    ({ token } = await gatehouse.runtime.apiKeys.create({ user, name: 'test' }));
    client = new Client({ name: 'sdk-1x-client', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      sampled.push(request);
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'Paris' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  });
  after(async () => {
    await client?.close();
    await gatehouse?.close();
    await modern?.close();
    await legacy?.close();
    files.remove();
  });

  it('shows each upstream’s era in its status: stateless 2026-07-28 for one, a 2025 session for the other', async () => {
    const statusOf = async (name: string) => {
      const upstream = gatehouse.runtime.upstreams.all().find((candidate) => candidate.settings.name === name)!;
      const response = await fetch(`${gatehouse.url}/api/mcp/client/${upstream.id}`, { headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) } });
      return ((await response.json()) as { status: Record<string, unknown> }).status;
    };
    assert.deepEqual({ ...(await statusOf('modern')), since: undefined }, { state: 'connected', since: undefined, protocol_era: 'stateless', protocol_version: STATELESS_VERSION });
    assert.deepEqual({ ...(await statusOf('legacy')), since: undefined }, { state: 'connected', since: undefined, protocol_era: 'session', protocol_version: '2025-11-25' });
    // The 2025 upstream was never sent anything of the stateless era but the one probe.
    assert.ok(legacy.requests.some((headers) => headers['mcp-session-id'] !== undefined));
  });

  it('lists and calls the upstream’s tools, with the per-request metadata and the routing headers under its own names', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).filter((name) => name.startsWith('modern_')).sort(), ['modern_ask_llm', 'modern_echo', 'modern_forecast', 'modern_lookup', 'modern_noisy', 'modern_query', 'modern_slow', 'modern_tagged']);
    assert.equal(firstText(await client.callTool({ name: 'modern_echo', arguments: { text: 'hello' } })), 'hello');
    const call = requestsFor('tools/call').at(-1)!;
    assert.equal(call.headers['mcp-method'], 'tools/call');
    assert.equal(call.headers['mcp-name'], 'echo');
    assert.equal(call.headers['mcp-protocol-version'], STATELESS_VERSION);
    assert.equal(call.headers['mcp-session-id'], undefined);
    const meta = call.body.params!._meta as Record<string, unknown>;
    assert.equal(meta['io.modelcontextprotocol/protocolVersion'], STATELESS_VERSION);
    assert.deepEqual(meta['io.modelcontextprotocol/clientInfo'], { name: 'gatehouse', version: (meta['io.modelcontextprotocol/clientInfo'] as { version: string }).version });
    assert.deepEqual(meta['io.modelcontextprotocol/clientCapabilities'], { sampling: {}, elicitation: { form: {}, url: {} } });
    assert.ok(modern.requests.every((request) => request.body.method !== 'initialize'));
    // The legacy upstream's tools still work beside it.
    assert.equal(firstText(await client.callTool({ name: 'legacy_echo', arguments: { text: 'old' } })), 'old');
  });

  it('leaves out the tool whose x-mcp-header is invalid, and passes the others’ input schemas on exactly as listed ($ref unresolved, 2020-12 keywords kept)', async () => {
    const { tools } = await client.listTools();
    assert.equal(tools.some((tool) => tool.name === 'modern_unroutable'), false);
    for (const name of ['lookup', 'query']) {
      assert.deepEqual(tools.find((tool) => tool.name === `modern_${name}`)?.inputSchema, STATELESS_TOOLS.find((tool) => tool.name === name)?.inputSchema, name);
    }
    // The catalog hears of the tool left out, with why (the gateway logs it).
    const rejected: string[] = [];
    const catalog = createCatalog(gatehouse.runtime.upstreams, { onToolRejected: (upstream, tool, reason) => rejected.push(`${upstream.settings.name} ${tool}: ${reason}`) });
    await catalog.list('tools', gatehouse.runtime.upstreams.all());
    catalog.close();
    assert.deepEqual(rejected, ['modern unroutable: x-mcp-header Score annotates score, which is not a string, integer or boolean']);
  });

  it('mirrors the x-mcp-header arguments of a call into Mcp-Param headers, encoded, which the upstream checks against the body', async () => {
    const result = await client.callTool({ name: 'modern_query', arguments: { region: 'São Paulo', limit: 5, verbose: null, scope: { owner: 'ann' }, sql: 'SELECT 1' } });
    assert.equal(firstText(result), 'ran SELECT 1 in São Paulo');
    const headers = requestsFor('tools/call').at(-1)!.headers;
    assert.deepEqual(Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('mcp-param-'))), {
      'mcp-param-region': `=?base64?${Buffer.from('São Paulo').toString('base64')}?=`,
      'mcp-param-limit': '5',
      'mcp-param-owner': 'ann',
    });
  });

  it('checks a 2026-07-28 client’s own Mcp-Param headers, and sends the upstream the ones of its own names', async () => {
    const call = (paramHeaders: Record<string, string>) =>
      fetch(`${gatehouse.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
          'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': 'tools/call', 'mcp-name': 'modern_query', ...paramHeaders,
        },
        body: JSON.stringify({
          jsonrpc: '2.0', id: 7, method: 'tools/call',
          params: { name: 'modern_query', arguments: { region: 'eu', sql: 'SELECT 3' }, _meta: { 'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION, 'io.modelcontextprotocol/clientCapabilities': {} } },
        }),
      });
    const refused = await call({ 'mcp-param-region': 'us' });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: { code: number } }).error.code, -32020);
    const answered = await call({ 'mcp-param-region': 'eu' });
    assert.equal(answered.status, 200);
    assert.equal(firstText(((await answered.json()) as { result: unknown }).result), 'ran SELECT 3 in eu');
    const upstreamCall = requestsFor('tools/call').at(-1)!;
    assert.equal(upstreamCall.headers['mcp-name'], 'query');
    assert.equal(upstreamCall.headers['mcp-param-region'], 'eu');
  });

  it('speaks 2026-07-28 to a stdio upstream that answers server/discover with it, on the same child', async () => {
    const upstream = gatehouse.runtime.upstreams.all().find((candidate) => candidate.settings.name === 'local')!;
    assert.deepEqual({ ...upstream.status(), since: undefined }, { state: 'connected', since: undefined, protocol: { era: 'stateless', version: STATELESS_VERSION } });
    assert.equal(firstText(await client.callTool({ name: 'local_echo', arguments: { text: 'over stdio' } })), 'over stdio');
  });

  it('reads resources and gets prompts, naming them in Mcp-Name', async () => {
    const { resources } = await client.listResources();
    assert.ok(resources.some((resource) => resource.uri === 'note://first'));
    const read = await client.readResource({ uri: 'note://first' });
    assert.equal((read.contents[0] as { text: string }).text, 'contents of note://first');
    assert.equal(requestsFor('resources/read').at(-1)!.headers['mcp-name'], 'note://first');
    const prompt = await client.getPrompt({ name: 'modern_greet', arguments: { who: 'Ann' } });
    assert.equal((prompt.messages[0]!.content as { text: string }).text, 'Hello Ann');
    assert.equal(requestsFor('prompts/get').at(-1)!.headers['mcp-name'], 'greet');
  });

  it('serves a tool with an array output schema and array structured content: as they are to a 2026-07-28 client, as 2025 can carry them (the text) to a 2025 one', async () => {
    const listed = (await client.listTools()).tools.find((tool) => tool.name === 'modern_forecast');
    assert.ok(listed, 'the upstream’s tools are listed, this one too');
    assert.equal(listed.outputSchema, undefined, 'an output schema 2025 cannot express is left out');
    assert.deepEqual(await client.callTool({ name: 'modern_forecast', arguments: {} }), { content: [{ type: 'text', text: '[12,14]' }] });

    const modernRequest = (id: number, method: string, params: Record<string, unknown>, name?: string) =>
      fetch(`${gatehouse.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
      }).then(async (response) => ((await response.json()) as { result: Record<string, unknown> }).result);
    const tools = (await modernRequest(10, 'tools/list', {})).tools as Array<{ name: string; outputSchema?: unknown }>;
    assert.deepEqual(tools.find((tool) => tool.name === 'modern_forecast')?.outputSchema, FORECAST.definition.outputSchema);
    const called = await modernRequest(11, 'tools/call', { name: 'modern_forecast', arguments: {} }, 'modern_forecast');
    assert.deepEqual([called.structuredContent, called.content], [[12, 14], [{ type: 'text', text: '[12,14]' }]]);
  });

  it('answers a resource the upstream does not have (its -32602) with -32002 to the 2025 client, as 2025 numbers it, and -32602 with the URI to a 2026-07-28 client', async () => {
    const missing = 'note://missing';
    await assert.rejects(client.readResource({ uri: missing }), (error: { code?: number; data?: unknown }) => {
      assert.deepEqual([error.code, error.data], [-32002, { uri: missing }]);
      return true;
    });
    assert.equal(requestsFor('resources/read').at(-1)!.body.params?.uri, missing, 'the upstream was asked');
    const modernRead = await fetch(`${gatehouse.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': 'resources/read', 'mcp-name': missing },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'resources/read', params: { uri: missing, _meta: { 'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    const { error } = (await modernRead.json()) as { error: { code: number; data: unknown } };
    assert.deepEqual([error.code, error.data], [-32602, { uri: missing }]);
  });

  it('answers the 2025 client without what 2026-07-28 added to results (resultType, ttlMs, cacheScope, the upstream’s serverInfo), the rest as it came', async () => {
    const results = {
      call: await client.callTool({ name: 'modern_echo', arguments: { text: 'plain' } }),
      read: await client.readResource({ uri: 'note://first' }),
      prompt: await client.getPrompt({ name: 'modern_greet', arguments: { who: 'Ann' } }),
    };
    for (const [what, result] of Object.entries(results)) {
      assert.deepEqual(Object.keys(result).filter((key) => ['resultType', 'ttlMs', 'cacheScope', '_meta'].includes(key)), [], what);
    }
    assert.deepEqual(results.call, { content: [{ type: 'text', text: 'plain' }] });
    assert.deepEqual(results.read, { contents: [{ uri: 'note://first', text: 'contents of note://first' }] });
    assert.deepEqual(await client.callTool({ name: 'modern_tagged', arguments: {} }), {
      content: [{ type: 'text', text: 'tagged' }],
      structuredContent: { n: 1 },
      isError: false,
      _meta: { 'com.example/trace': 't-1' },
    });
    // The same upstream's results keep them for a 2026-07-28 client, with Gatehouse named as the server.
    const modernCall = await fetch(`${gatehouse.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': 'resources/read', 'mcp-name': 'note://first' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'resources/read', params: { uri: 'note://first', _meta: { 'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    const { result } = (await modernCall.json()) as { result: Record<string, unknown> & { _meta: Record<string, { name: string }> } };
    assert.deepEqual([result.resultType, result.ttlMs, result.cacheScope, result._meta['io.modelcontextprotocol/serverInfo']?.name], ['complete', 60_000, 'public', 'gatehouse']);
  });

  it('keeps the upstream’s cache hints on its catalog lists', async () => {
    const upstream = gatehouse.runtime.upstreams.all().find((candidate) => candidate.settings.name === 'modern')!;
    assert.deepEqual((await fetchAllPages(upstream, upstream.client()!, 'tools')).hint, { ttlMs: 60_000, cacheScope: 'public' });
    assert.deepEqual((await fetchAllPages(upstream, upstream.client()!, 'resources')).hint, { ttlMs: 5_000, cacheScope: 'private' });
    const legacyUpstream = gatehouse.runtime.upstreams.all().find((candidate) => candidate.settings.name === 'legacy')!;
    assert.deepEqual((await fetchAllPages(legacyUpstream, legacyUpstream.client()!, 'tools')).hint, { ttlMs: 0, cacheScope: 'private' });
  });

  it('relays progress to the client', async () => {
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'modern_slow', arguments: { ms: 30, steps: 3 } }, undefined, { onprogress: (update) => progress.push(update) });
    assert.equal(firstText(result), 'slow done after 3 steps');
    assert.deepEqual(progress.map((update) => update.progress), [1, 2, 3]);
  });

  it('turns an input_required result into a sampling request to the client, and retries with its answer and the state untouched', async () => {
    const result = await client.callTool({ name: 'modern_ask_llm', arguments: { prompt: 'Capital of France?' } });
    assert.equal(firstText(result), 'LLM said: Paris');
    assert.deepEqual(sampled.map((request) => (request.params.messages[0]!.content as { text: string }).text), ['Capital of France?']);
    const [first, retry] = requestsFor('tools/call').filter((request) => request.body.params!.name === 'ask_llm');
    assert.ok(first && retry);
    assert.notEqual(retry.body.id, first.body.id);
    assert.equal(first.body.params!.inputResponses, undefined);
    assert.deepEqual((retry.body.params!.inputResponses as Record<string, { content: unknown }>).llm?.content, { type: 'text', text: 'Paris' });
    assert.equal(typeof retry.body.params!.requestState, 'string');
  });

  it('cancels a call by closing its stream when the client cancels', async () => {
    const controller = new AbortController();
    const call = client.callTool({ name: 'modern_slow', arguments: { ms: 20_000, steps: 2 } }, undefined, { signal: controller.signal });
    const deadline = Date.now() + 5000;
    while (!requestsFor('tools/call').some((request) => (request.body.params!.arguments as { ms?: number }).ms === 20_000)) {
      if (Date.now() > deadline) assert.fail('the call did not reach the upstream');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort(new Error('changed my mind'));
    await assert.rejects(call);
    const id = requestsFor('tools/call').find((request) => (request.body.params!.arguments as { ms?: number }).ms === 20_000)!.body.id!;
    while (!modern.cancelled.includes(id)) {
      if (Date.now() > deadline) assert.fail('the upstream did not see its stream close');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // No notifications/cancelled: 2026-07-28 over HTTP has none.
    assert.equal(requestsFor('notifications/cancelled').length, 0);
  });

  it('passes the upstream’s list changes (from subscriptions/listen) on to the client', async () => {
    await modern.listening();
    const listen = requestsFor('subscriptions/listen')[0]!;
    assert.deepEqual(listen.body.params!.notifications, { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true });
    const tools = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    modern.announceToolsChanged();
    await tools;
    const prompts = new Promise<void>((resolve) => client.setNotificationHandler(PromptListChangedNotificationSchema, () => resolve()));
    modern.announceListChanged('prompts');
    await prompts;
  });

  it('turns the client’s resources/subscribe into the listen filter, and the upstream’s updates into notifications', async () => {
    await client.subscribeResource({ uri: 'note://first' });
    assert.deepEqual(modern.openListens().at(-1)!.filter.resourceSubscriptions, ['note://first']);
    // No resources/subscribe reached the upstream: 2026-07-28 has none.
    assert.equal(requestsFor('resources/subscribe').length, 0);
    const updated = new Promise<string>((resolve) => client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => resolve(notification.params.uri)));
    modern.announceResourceUpdated('note://first');
    assert.equal(await updated, 'note://first');
    await client.unsubscribeResource({ uri: 'note://first' });
    // The stream without it replaces the one with it.
    while (modern.openListens().some((stream) => stream.filter.resourceSubscriptions)) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(modern.openListens().map((stream) => stream.filter), [{ toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true }]);
  });

  it('refuses a subscription the upstream does not acknowledge', async () => {
    await assert.rejects(client.subscribeResource({ uri: 'live://clock' }), /sends no updates of live:\/\/clock/);
  });

  it('gives a 2026-07-28 client’s listen stream the upstream’s list changes and updates of the resources it subscribed to', async () => {
    const response = await fetch(`${gatehouse.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': 'subscriptions/listen',
      },
      body: JSON.stringify({
        jsonrpc: '2.0', id: 'listen-1', method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true, resourceSubscriptions: ['note://first'] }, _meta: { 'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION, 'io.modelcontextprotocol/clientCapabilities': {} } },
      }),
    });
    const frames = eventsOf(response);
    try {
      const ack = (await frames.next()) as { params: { notifications: unknown } };
      assert.deepEqual(ack.params.notifications, { toolsListChanged: true, resourceSubscriptions: ['note://first'] });
      // Gatehouse's own stream to the upstream asks for the resource now.
      await modern.listening((stream) => stream.filter.resourceSubscriptions?.includes('note://first') === true);
      modern.announceResourceUpdated('note://first');
      assert.deepEqual(await frames.next(), {
        jsonrpc: '2.0',
        method: 'notifications/resources/updated',
        params: { uri: 'note://first', _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen-1' } },
      });
      modern.announceToolsChanged();
      assert.deepEqual(await frames.next(), { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen-1' } } });
    } finally {
      await frames.close();
    }
  });

  it('asks for log messages at the level the client set, and relays them; asks for none before it set one', async () => {
    assert.equal(firstText(await client.callTool({ name: 'modern_noisy', arguments: {} })), 'no log asked for');
    await client.setLoggingLevel('info');
    const logged: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logged.push(notification.params));
    assert.equal(firstText(await client.callTool({ name: 'modern_noisy', arguments: {} })), 'logged at info');
    assert.equal((requestsFor('tools/call').at(-1)!.body.params!._meta as Record<string, unknown>)['io.modelcontextprotocol/logLevel'], 'info');
    while (logged.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(logged[0], { level: 'info', logger: 'modern/noisy', data: 'working on it' });
  });
});
