import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError, ResourceUpdatedNotificationSchema, SubscribeRequestSchema, UnsubscribeRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callApprovals } from '../../../src/gateway/call-approvals.js';
import { gatewayRoutes } from '../../../src/gateway/mcp-routes.js';
import { BROWSER_INPUT } from '../../../src/gateway/modern/input-required.js';
import type { Runtime } from '../../../src/runtime.js';
import { NeedsAuthorization } from '../../../src/upstream/oauth/token-vault.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../../fixtures/upstreams/conformance-server.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../../helpers/app.js';
import { httpUpstreamConfig } from '../../helpers/config-files.js';
import { eventsOf } from '../../helpers/sse-events.js';
import { testUpstreamRegistry, type TestRegistry } from '../../helpers/upstream-registry.js';
import { grantWithTokens } from '../../oauth/token-fixtures.js';

/**
 * One gateway (the real /mcp plugin and runtime) over real SDK upstreams, reached at once by a 2025 client (the SDK's
 * Client: initialize, a session) and by 2026-07-28 requests (plain HTTP, per-request `_meta`, no session).
 */

const VERSION = '2026-07-28';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const META = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'modern-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } },
};

/** What the shared upstream was asked of its resource subscriptions. */
const subscriptionsAsked: string[] = [];

/**
 * A shared upstream whose tool reports the `_meta` it received and whose resource `watched://doc` can be subscribed to,
 * and a per-user one nobody has connected.
 */
function sharedServer(seen: Array<Record<string, unknown> | undefined>) {
  const server = new McpServer({ name: 'shared', version: '1.0.0' });
  server.registerResource('doc', 'watched://doc', { mimeType: 'text/plain' }, (uri) => ({ contents: [{ uri: uri.href, text: 'doc' }] }));
  // Names notes it does not have: a 2025 server's "resource not found" (-32002).
  server.registerResource('notes', new ResourceTemplate('notes://{name}', { list: undefined }), {}, (uri) => {
    throw new McpError(-32002, 'Resource not found', { uri: uri.href });
  });
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    subscriptionsAsked.push(`subscribe ${request.params.uri}`);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptionsAsked.push(`unsubscribe ${request.params.uri}`);
    return {};
  });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }, extra) => {
    seen.push(extra._meta as Record<string, unknown> | undefined);
    return { content: [{ type: 'text', text: `echo ${text}` }] };
  });
  server.registerPrompt('greeting', { description: 'A greeting' }, () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'hello' } }] }));
  return server;
}

/** An upstream whose one tool is held until its caller approves it. */
function guardedServer() {
  const server = new McpServer({ name: 'guarded', version: '1.0.0' });
  server.registerTool('drop', { inputSchema: { table: z.string() } }, async ({ table }) => ({ content: [{ type: 'text', text: `dropped ${table}` }] }));
  return server;
}

function personalServer() {
  const server = new McpServer({ name: 'personal', version: '1.0.0' });
  server.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: 'someone' }] }));
  return server;
}

describe('/mcp serves a 2026-07-28 client and a 2025 client side by side', () => {
  let t: TestApp;
  let gw: FastifyInstance;
  let registry: TestRegistry;
  let url: string;
  let token: string;
  let shared: McpServer;
  const seen: Array<Record<string, unknown> | undefined> = [];

  before(async () => {
    t = await startTestApp();
    registry = testUpstreamRegistry();
    shared = sharedServer(seen);
    await registry.add({ id: 'ups_shared', name: 'shared', server: shared });
    await registry.add({ id: 'ups_personal', name: 'personal', server: personalServer(), settings: { auth_type: 'per_user_oauth' } });
    await registry.add({ id: 'ups_guarded', name: 'guarded', server: guardedServer(), settings: { require_approval: 'always' } });
    // Nobody has connected the per-user upstream: the pool says so, and outbound OAuth hands out a connect link.
    const runtime: Runtime = {
      ...t.runtime,
      perUserPool: { ...t.runtime.perUserPool, clientFor: async (upstream, userId) => Promise.reject(new NeedsAuthorization(upstream.id, userId, 'not connected')) },
      outbound: { ...t.runtime.outbound, startFlow: async () => ({ flowId: 'flow_test' }) as Awaited<ReturnType<Runtime['outbound']['startFlow']>> },
    };
    gw = Fastify();
    await gw.register(gatewayRoutes, { deps: runtime, upstreams: registry });
    await gw.listen({ host: '127.0.0.1', port: 0 });
    const address = gw.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
    token = (await grantWithTokens(t)).tokens.access_token;
  });
  after(async () => {
    await gw.close();
    await registry.close();
    await t.close();
  });

  let nextId = 1;
  /** A 2026-07-28 request with its routing headers (`headers` overrides them), to /mcp unless `at` says otherwise. */
  const modern = (method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}, at = url) => {
    const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
    return fetch(at, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': VERSION,
        'mcp-method': method,
        ...(name === undefined ? {} : { 'mcp-name': name }),
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: { ...META, ...(params._meta as object | undefined) } } }),
    });
  };

  const legacyClient = async () => {
    const client = new Client({ name: 'legacy-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return client;
  };

  it('answers both from the same upstreams: the 2025 session as before, the 2026 request statelessly with resultType and cache hints', async () => {
    const legacy = await legacyClient();
    try {
      const legacyCall = (await legacy.callTool({ name: 'shared_echo', arguments: { text: 'old' } })) as CallToolResult;
      assert.deepEqual(legacyCall.content, [{ type: 'text', text: 'echo old' }]);
      assert.equal('resultType' in legacyCall, false, '2025 answers stay as they were');
      const legacyList = await legacy.listTools();
      assert.equal('ttlMs' in legacyList, false);

      const response = await modern('tools/call', { name: 'shared_echo', arguments: { text: 'new' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('mcp-session-id'), null, 'no session is minted for a 2026-07-28 request');
      const answer = (await response.json()) as { result: Record<string, unknown> };
      assert.deepEqual(answer.result.content, [{ type: 'text', text: 'echo new' }]);
      assert.equal(answer.result.resultType, 'complete');
      assert.deepEqual((answer.result._meta as Record<string, { name: string }>)['io.modelcontextprotocol/serverInfo']?.name, 'gatehouse');

      const listed = (await (await modern('tools/list')).json()) as { result: { tools: Array<{ name: string }>; ttlMs: number; cacheScope: string } };
      assert.deepEqual(listed.result.tools.map((tool) => tool.name).sort(), legacyList.tools.map((tool) => tool.name).sort());
      // A 2025 upstream says nothing of freshness (0), and a per-user upstream is configured: private.
      assert.deepEqual([listed.result.ttlMs, listed.result.cacheScope], [0, 'private']);
      // The 2025 session still works after the stateless requests.
      assert.deepEqual(((await legacy.callTool({ name: 'shared_echo', arguments: { text: 'again' } })) as CallToolResult).content, [{ type: 'text', text: 'echo again' }]);
    } finally {
      await legacy.close();
    }
  });

  it('refuses a tools/call whose Mcp-Name is not the exposed name with 400 and -32020, keeping the request id', async () => {
    const id = nextId;
    const response = await modern('tools/call', { name: 'shared_echo', arguments: { text: 'x' } }, { 'mcp-name': 'echo' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { id: number; error: { code: number } };
    assert.deepEqual([body.id, body.error.code], [id, -32020]);
  });

  it('answers a removed or unknown method with 404 and -32601, and a missing resource with -32602 and its URI', async () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'no/such']) {
      const response = await modern(method);
      assert.equal(response.status, 404, method);
      assert.equal(((await response.json()) as { error: { code: number } }).error.code, -32601);
    }
    const missing = (await (await modern('resources/read', { uri: 'test://nothing' })).json()) as { error: { code: number; data: { uri: string } } };
    assert.deepEqual([missing.error.code, missing.error.data.uri], [-32602, 'test://nothing']);
  });

  it('answers a resource a 2025 upstream does not have (its -32002) with -32602 and the URI to a 2026-07-28 client, and -32002 to a 2025 one', async () => {
    const missing = (await (await modern('resources/read', { uri: 'notes://gone' })).json()) as { error: { code: number; data: unknown } };
    assert.deepEqual([missing.error.code, missing.error.data], [-32602, { uri: 'notes://gone' }]);
    const legacy = await legacyClient();
    try {
      await assert.rejects(legacy.readResource({ uri: 'notes://gone' }), (error: McpError) => {
        assert.deepEqual([error.code, error.data], [-32002, { uri: 'notes://gone' }]);
        return true;
      });
    } finally {
      await legacy.close();
    }
  });

  it('carries the trace context of _meta on to the upstream, and none of the client’s protocol metadata', async () => {
    seen.length = 0;
    await (await modern('tools/call', { name: 'shared_echo', arguments: { text: 't' }, _meta: { traceparent: TRACEPARENT } })).json();
    assert.equal(seen[0]?.traceparent, TRACEPARENT);
    assert.deepEqual(Object.keys(seen[0] ?? {}).filter((key) => key.startsWith('io.modelcontextprotocol/')), []);
  });

  it('asks a user without a connection to connect with an input_required URL elicitation, and refuses a tampered requestState', async () => {
    const asked = (await (await modern('tools/call', { name: 'personal_whoami', arguments: {} })).json()) as {
      result: { resultType: string; inputRequests: Record<string, { method: string; params: { url: string } }>; requestState: string; ttlMs?: number };
    };
    assert.equal(asked.result.resultType, 'input_required');
    assert.equal(asked.result.inputRequests[BROWSER_INPUT]?.params.url, `${t.config.publicUrl}/connect/flow_test`);
    assert.equal(asked.result.ttlMs, undefined, 'an interim result carries no cache hint');

    const declined = (await (
      await modern('tools/call', { name: 'personal_whoami', arguments: {}, requestState: asked.result.requestState, inputResponses: { [BROWSER_INPUT]: { action: 'decline' } } })
    ).json()) as { result: CallToolResult };
    assert.equal(declined.result.isError, true);

    const state = asked.result.requestState;
    const tampered = `${state.slice(0, -3)}${state.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const refused = (await (await modern('tools/call', { name: 'personal_whoami', arguments: {}, requestState: tampered })).json()) as { error: { code: number } };
    assert.equal(refused.error.code, -32602);
    const elsewhere = (await (await modern('tools/call', { name: 'shared_echo', arguments: { text: 'x' }, requestState: state })).json()) as { error: { code: number } };
    assert.equal(elsewhere.error.code, -32602, 'a state issued for another request');
  });

  it('refuses a requestState carried to another OAuth client, an API key, or another endpoint of the same user with -32602', async () => {
    const retry = { name: 'personal_whoami', arguments: {}, inputResponses: { [BROWSER_INPUT]: { action: 'accept' } } };
    const askedWith = async (bearer: string, at = url) =>
      ((await (await modern('tools/call', { name: 'personal_whoami', arguments: {} }, { authorization: `Bearer ${bearer}` }, at)).json()) as { result: { requestState: string } }).result
        .requestState;
    const retried = async (bearer: string, requestState: string, at = url) =>
      (await (await modern('tools/call', { ...retry, requestState }, { authorization: `Bearer ${bearer}` }, at)).json()) as { result?: { resultType: string }; error?: { code: number; message: string } };

    const state = await askedWith(token);
    assert.equal((await retried(token, state)).result?.resultType, 'input_required', 'the same client at the same endpoint continues (and is asked again)');
    const otherClient = (await grantWithTokens(t)).tokens.access_token;
    assert.match((await retried(otherClient, state)).error?.message ?? '', /requestState is not valid \(it was issued to another client or API key\)/);
    const admin = (await t.runtime.users.find('admin'))!;
    const { token: apiKey } = await t.runtime.apiKeys.create({ user: admin, name: 'state-binding' });
    assert.equal((await retried(apiKey, state)).error?.code, -32602, 'an API key of the same user');

    const now = Date.now();
    await t.runtime.store.virtualServers.create({ name: 'mine', description: null, tools: ['personal_whoami'], allowedUsers: null, allowedGroups: null, createdAt: now, updatedAt: now });
    const keyState = await askedWith(apiKey);
    assert.equal((await retried(apiKey, keyState)).result?.resultType, 'input_required');
    const atVirtualServer = await retried(apiKey, keyState, `${url}/mine`);
    assert.deepEqual([atVirtualServer.error?.code, atVirtualServer.error?.message], [-32602, 'Invalid params: requestState is not valid (it was issued at /mcp, not at /mcp/mine)']);
    assert.equal((await retried(apiKey, await askedWith(apiKey, `${url}/mine`))).error?.code, -32602, 'and from the virtual server back to /mcp');
    const otherKey = (await t.runtime.apiKeys.create({ user: admin, name: 'state-binding-2' })).token;
    assert.equal((await retried(otherKey, keyState)).error?.code, -32602, 'another API key of the same user');
  });

  it('asks for a held call’s approval with an input_required URL elicitation, and forwards the retry once approved', async () => {
    const call = { name: 'guarded_drop', arguments: { table: 'users' } };
    const asked = (await (await modern('tools/call', call)).json()) as {
      result: { resultType: string; inputRequests: Record<string, { params: { url: string; elicitationId: string } }>; requestState: string };
    };
    assert.equal(asked.result.resultType, 'input_required');
    const question = asked.result.inputRequests[BROWSER_INPUT]!.params;
    assert.equal(question.url, `${t.config.publicUrl}/approve/${question.elicitationId}`);

    const retry = { ...call, requestState: asked.result.requestState, inputResponses: { [BROWSER_INPUT]: { action: 'accept' } } };
    const stillHeld = (await (await modern('tools/call', retry)).json()) as { result: { resultType: string } };
    assert.equal(stillHeld.result.resultType, 'input_required', 'not approved yet: asked again');

    const userId = (await t.runtime.accessTokens.verify(token, `${t.config.publicUrl}/mcp`))!.sub;
    const approvals = callApprovals({ store: t.runtime.store.callApprovals, audit: t.runtime.audit, hasher: t.runtime.keys.tokenHasher, config: t.runtime.config });
    assert.equal(await approvals.decide(question.elicitationId, userId, true, null), 'approved');
    const done = (await (await modern('tools/call', retry)).json()) as { result: CallToolResult & { resultType: string } };
    assert.equal(done.result.resultType, 'complete');
    assert.deepEqual(done.result.content, [{ type: 'text', text: 'dropped users' }]);
  });

  it('acknowledges subscriptions/listen first, then sends only the list changes asked for, tagged with the subscription id', async () => {
    const id = nextId;
    const response = await modern('subscriptions/listen', { notifications: { toolsListChanged: true, resourceSubscriptions: ['test://x'] } });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const frames = eventsOf(response);
    const ack = await frames.next();
    assert.deepEqual(ack, {
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { 'io.modelcontextprotocol/subscriptionId': id }, notifications: { toolsListChanged: true } },
    });
    await registry.add({ name: 'late', server: personalServer() });
    // An upstream added changes every list: of them, only the tool list was asked for.
    assert.deepEqual(await frames.next(), { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': id } } });
    await frames.close();
  });

  it('forwards resource subscriptions of a 2025 session and of a 2026-07-28 stream to the upstream once, and its updates to both', async () => {
    subscriptionsAsked.length = 0;
    const legacy = await legacyClient();
    const updates: string[] = [];
    let updated: () => void = () => undefined;
    const legacyUpdated = new Promise<void>((resolve) => (updated = resolve));
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
      updated();
    });
    try {
      await legacy.subscribeResource({ uri: 'watched://doc' });
      const id = nextId;
      const response = await modern('subscriptions/listen', { notifications: { resourceSubscriptions: ['watched://doc', 'watched://nothing'] } });
      const frames = eventsOf(response);
      const ack = (await frames.next()) as { params: { notifications: unknown } };
      assert.deepEqual(ack.params.notifications, { resourceSubscriptions: ['watched://doc'] }, 'a resource nobody offers is not acknowledged');
      assert.deepEqual(subscriptionsAsked, ['subscribe watched://doc'], 'the upstream is asked once for both');

      await shared.server.sendResourceUpdated({ uri: 'watched://doc' });
      assert.deepEqual(await frames.next(), {
        jsonrpc: '2.0',
        method: 'notifications/resources/updated',
        params: { uri: 'watched://doc', _meta: { 'io.modelcontextprotocol/subscriptionId': id } },
      });
      await legacyUpdated;
      assert.deepEqual(updates, ['watched://doc']);

      await frames.close();
      await legacy.unsubscribeResource({ uri: 'watched://doc' });
      await waitUntil(() => subscriptionsAsked.length === 2);
      assert.deepEqual(subscriptionsAsked, ['subscribe watched://doc', 'unsubscribe watched://doc'], 'unsubscribed once the last holder let go');
    } finally {
      await legacy.close();
    }
  });
});

/**
 * An upstream's own requests reach a client only over Streamable HTTP (the gateway attributes them to the call they
 * serve): here the conformance fixture, configured in a real app, asks during its calls.
 */
describe('an upstream that asks the client during a 2026-07-28 call', () => {
  let upstream: ConformanceUpstream;
  let gatehouse: TestApp;
  let key: string;
  let nextId = 1;
  let config: ReturnType<typeof httpUpstreamConfig> | undefined;

  before(async () => {
    upstream = await startConformanceUpstream();
    config = httpUpstreamConfig(upstream.url);
    gatehouse = await startTestApp({ listen: true, flags: { noDemo: true, config: config.file } });
    await waitUntil(() => gatehouse.runtime.upstreams.all().every((item) => item.status().state === 'connected'));
    const created = await gatehouse.app.inject({ method: 'POST', url: '/api/apikeys', headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) }, payload: { name: 'modern' } });
    key = (created.json() as { key: string }).key;
  });
  after(async () => {
    await gatehouse?.close();
    await upstream?.close();
    config?.remove();
  });

  const modern = async (params: Record<string, unknown>, capabilities: Record<string, unknown>) => {
    const response = await fetch(`${gatehouse.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': VERSION,
        'mcp-method': 'tools/call',
        'mcp-name': String(params.name),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { ...params, _meta: { ...META, 'io.modelcontextprotocol/clientCapabilities': capabilities } } }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('turns the upstream’s elicitation into an input_required result, and the retry with the answer into the call’s result', async () => {
    const call = { name: 'up_test_elicitation', arguments: { message: 'Who are you?' } };
    const asked = (await modern(call, { elicitation: { form: {} } })).body;
    assert.equal(asked.result?.resultType, 'input_required', JSON.stringify(asked));
    const [input, question] = Object.entries(asked.result.inputRequests as Record<string, { method: string; params: { message: string } }>)[0]!;
    assert.deepEqual([question.method, question.params.message], ['elicitation/create', 'Who are you?']);

    const withoutAnswer = await modern({ ...call, requestState: asked.result.requestState, inputResponses: {} }, { elicitation: { form: {} } });
    assert.equal(withoutAnswer.body.error?.code, -32602, 'a retry must answer the question');
    const answer = { action: 'accept', content: { username: 'ann', email: 'ann@example.com' } };
    const otherArguments = await modern({ ...call, arguments: { message: 'Your password?' }, requestState: asked.result.requestState, inputResponses: { [input]: answer } }, { elicitation: { form: {} } });
    assert.deepEqual(
      [otherArguments.body.error?.code, otherArguments.body.error?.message],
      [-32602, 'Invalid params: requestState is not valid (it was issued for other arguments; a retry repeats the request)'],
      'the parked call is not continued with other arguments',
    );
    const answered = (await modern({ ...call, requestState: asked.result.requestState, inputResponses: { [input]: answer } }, { elicitation: { form: {} } })).body;
    assert.equal(answered.result?.resultType, 'complete', JSON.stringify(answered));
    assert.match(answered.result.content[0].text, /action=accept, content=\{"username":"ann","email":"ann@example.com"\}/);

    const again = await modern({ ...call, requestState: asked.result.requestState, inputResponses: { [input]: answer } }, { elicitation: { form: {} } });
    assert.equal(again.body.error?.code, -32602, 'a call that ended cannot be continued');
  });

  it('ends a call whose upstream asks for a capability the client did not declare with 400 and -32021', async () => {
    const refused = await modern({ name: 'up_test_missing_capability', arguments: {} }, {});
    assert.equal(refused.status, 400);
    assert.deepEqual([refused.body.error?.code, refused.body.error?.data?.requiredCapabilities], [-32021, { sampling: {} }]);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 200) assert.fail('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
