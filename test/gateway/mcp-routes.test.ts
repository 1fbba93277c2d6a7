import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { CreateMessageRequestSchema, CreateMessageResultSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { createGatewayServer } from '../../src/gateway/gateway-server.js';
import { gatewayRoutes } from '../../src/gateway/mcp-routes.js';
import { scopesRequiredFor } from '../../src/gateway/operation-scopes.js';
import { mcpSessionTable, type McpSessionTable } from '../../src/gateway/mcp-sessions.js';
import type { Upstream, UpstreamRegistry } from '../../src/upstream/types.js';
import { UpstreamClient } from '../../src/upstream/upstream-client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { waitFor } from '../helpers/wait-for.js';
import { startConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';
import { testUpstreamRegistry } from '../helpers/upstream-registry.js';
import { adminUserId, createClient, grantWithTokens } from '../oauth/token-fixtures.js';

/** An upstream built with the SDK, one read-only and one writing tool, reached in-process through a real client. */
async function tinyRegistry(): Promise<{ registry: UpstreamRegistry; erased: () => number; close(): Promise<void> }> {
  let erased = 0;
  const server = new McpServer({ name: 'tiny', version: '1.0.0' });
  server.registerTool('lookup', { inputSchema: { q: z.string() }, annotations: { readOnlyHint: true } }, async ({ q }) => ({
    content: [{ type: 'text', text: `found ${q}` }],
  }));
  server.registerTool('erase', { annotations: { readOnlyHint: false, destructiveHint: true } }, async () => {
    erased += 1;
    return { content: [{ type: 'text', text: 'erased' }] };
  });
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new UpstreamClient('1.0.0', { streamableHttp: false });
  await client.connect(clientSide);
  const since = Date.now();
  const upstream: Upstream = {
    id: 'tiny',
    settings: { name: 'tiny', connection_type: 'in_process', auth_type: 'none', timeout_ms: 5_000 },
    status: () => ({ state: 'connected', since }),
    client: () => client,
  };
  const registry: UpstreamRegistry = {
    all: () => [upstream],
    get: (id) => (id === upstream.id ? upstream : undefined),
    subscribe: () => () => undefined,
    start: async () => undefined,
    close: async () => undefined,
  };
  return {
    registry,
    erased: () => erased,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

const ACCEPT = 'application/json, text/event-stream';
const PROTOCOL = '2025-06-18';
const initialize = (id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'routes-test', version: '1.0.0' } },
});

/** The JSON-RPC messages of a response, whether the SDK answered with JSON or an SSE stream. */
function messagesOf(res: LightMyRequestResponse): Array<Record<string, any>> {
  if (res.headers['content-type']?.toString().startsWith('text/event-stream')) {
    return res.body
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.length > 6)
      .map((line) => JSON.parse(line.slice(6)));
  }
  return res.body ? [res.json()] : [];
}

describe('/mcp over HTTP', () => {
  let t: TestApp;
  let gw: FastifyInstance;
  let tiny: Awaited<ReturnType<typeof tinyRegistry>>;
  let sessions: McpSessionTable;

  before(async () => {
    t = await startTestApp();
    tiny = await tinyRegistry();
    sessions = mcpSessionTable({ maxSessions: 50, store: t.runtime.store.mcpSessions, announceEnded: async () => undefined });
    // The real plugin and runtime over the tiny registry (the app's own /mcp serves the demo upstream).
    gw = Fastify({ bodyLimit: 2048 });
    await gw.register(gatewayRoutes, { deps: t.runtime, upstreams: tiny.registry, sessions });
    await gw.ready();
  });
  after(async () => {
    await gw.close();
    await tiny.close();
    await t.close();
  });

  const post = (token: string | undefined, body: unknown, sessionId?: string, url = '/mcp') =>
    gw.inject({
      method: 'POST',
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL } : {}),
        accept: ACCEPT,
        'content-type': 'application/json',
      },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** initialize + notifications/initialized: an open session of the token's caller. */
  const openSession = async (token: string): Promise<string> => {
    const res = await post(token, initialize());
    assert.equal(res.statusCode, 200, res.body);
    const sessionId = res.headers['mcp-session-id'];
    assert.equal(typeof sessionId, 'string');
    assert.equal(messagesOf(res)[0]?.result?.protocolVersion, PROTOCOL);
    // The SDK writes this response itself: the CORS headers must still reach browsers.
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.match(String(res.headers['access-control-expose-headers']), /Mcp-Session-Id/);
    const ack = await post(token, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId as string);
    assert.equal(ack.statusCode, 202, ack.body);
    return sessionId as string;
  };

  let nextId = 10;
  const call = (token: string, sessionId: string, method: string, params: Record<string, unknown> = {}) =>
    post(token, { jsonrpc: '2.0', id: nextId++, method, params }, sessionId);

  const toolNames = async (token: string, sessionId: string) => {
    const res = await call(token, sessionId, 'tools/list');
    assert.equal(res.statusCode, 200, res.body);
    return (messagesOf(res)[0]?.result?.tools as Array<{ name: string }>).map((tool) => tool.name);
  };

  const resourceMetadata = () => `${t.config.publicUrl}/.well-known/oauth-protected-resource/mcp`;

  it('without a token: 401 naming the resource metadata and scopes, and no error code', async () => {
    const res = await post(undefined, initialize());
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], `Bearer resource_metadata="${resourceMetadata()}", scope="mcp:read mcp:write"`);
  });

  it('a garbage token and a token for another audience: 401 invalid_token', async () => {
    const { client, grantId } = await grantWithTokens(t);
    const elsewhere = await t.runtime.accessTokens.issue({
      grantId,
      userId: await adminUserId(t),
      clientId: client.clientId,
      scope: 'mcp:read mcp:write',
      resource: 'https://elsewhere.example/mcp',
    });
    for (const token of ['garbage', elsewhere.token]) {
      const res = await post(token, initialize());
      assert.equal(res.statusCode, 401);
      const challenge = String(res.headers['www-authenticate']);
      assert.match(challenge, /^Bearer error="invalid_token"/);
      assert.ok(challenge.includes(`resource_metadata="${resourceMetadata()}"`), challenge);
      assert.ok(challenge.includes('scope="mcp:read mcp:write"'), challenge);
    }
  });

  it('a token in the query string is refused with 400 invalid_request', async () => {
    const { tokens } = await grantWithTokens(t);
    const res = await post(tokens.access_token, initialize(), undefined, `/mcp?access_token=${tokens.access_token}`);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'invalid_request');
  });

  it('a revoked grant: its open session is refused on the very next request', async () => {
    const { tokens, grantId } = await grantWithTokens(t);
    const sessionId = await openSession(tokens.access_token);
    assert.ok((await toolNames(tokens.access_token, sessionId)).includes('tiny_lookup'));
    await t.runtime.grants.revoke(grantId, 'test', {});
    const res = await call(tokens.access_token, sessionId, 'tools/list');
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  });

  it('an API key opens a session; once revoked it is refused', async () => {
    const admin = await t.runtime.users.find('admin');
    assert.ok(admin);
    const { record, token } = await t.runtime.apiKeys.create({ user: admin, name: 'mcp routes' });
    const sessionId = await openSession(token);
    assert.ok((await toolNames(token, sessionId)).includes('tiny_erase'));
    await t.runtime.apiKeys.revoke(record.id);
    assert.equal((await call(token, sessionId, 'tools/list')).statusCode, 401);
  });

  it('a session opened with an API key is bound to that key: another key of the same user gets 404, before and after the first is revoked, in memory and from the store', async () => {
    const admin = await t.runtime.users.find('admin');
    assert.ok(admin);
    const first = await t.runtime.apiKeys.create({ user: admin, name: 'session key a' });
    const second = (await t.runtime.apiKeys.create({ user: admin, name: 'session key b' })).token;
    const sessionId = await openSession(first.token);
    const erase = () => call(second, sessionId, 'tools/call', { name: 'tiny_erase', arguments: {} });
    const erasedBefore = tiny.erased();

    assert.equal((await erase()).statusCode, 404, 'the held copy');
    await sessions.drop([sessionId]); // this replica's copy closed, the row kept: the next request rebuilds it from the store, as another replica would
    assert.equal((await erase()).statusCode, 404, 'rebuilt from the store');
    await t.runtime.apiKeys.revoke(first.record.id);
    assert.equal((await erase()).statusCode, 404, 'after the opening key is revoked');
    assert.equal(tiny.erased(), erasedBefore, 'the tool never ran for the other key');
    assert.equal((await call(first.token, sessionId, 'tools/list')).statusCode, 401, 'the revoked key itself');
  });

  it('an API key session stored without its key (before migration 013) is refused to every key: 404, and the client opens a new one', async () => {
    const admin = await t.runtime.users.find('admin');
    assert.ok(admin);
    const key = (await t.runtime.apiKeys.create({ user: admin, name: 'older session' })).token;
    const stored = await t.runtime.store.mcpSessions.find(await openSession(key));
    assert.ok(stored);
    const older = { ...stored, id: crypto.randomUUID(), apiKeyId: null };
    await t.runtime.store.mcpSessions.create(older);
    assert.equal((await call(key, older.id, 'tools/list')).statusCode, 404);
    assert.equal((await call(key, stored.id, 'tools/list')).statusCode, 200, 'the key\'s own session');
  });

  it('a session is never served to another user, another client, or an API key: 404 as if unknown', async () => {
    const owner = await grantWithTokens(t);
    const sessionId = await openSession(owner.tokens.access_token);

    const bob = await t.runtime.users.create({ username: 'bob-routes', password: 'pw-Long-enough-1' });
    const bobClient = await createClient(t);
    const bobGrant = `grt_routes_bob`;
    await t.runtime.store.grants.create({
      id: bobGrant, userId: bob.id, clientId: bobClient.clientId, scope: 'mcp:read mcp:write', resource: `${t.config.publicUrl}/mcp`,
      createdAt: Date.now(), expiresAt: Date.now() + 3600_000, lastUsedAt: null, revokedAt: null, revokedReason: null,
    });
    const bobToken = (await t.runtime.accessTokens.issue({ grantId: bobGrant, userId: bob.id, clientId: bobClient.clientId, scope: 'mcp:read mcp:write', resource: `${t.config.publicUrl}/mcp` })).token;
    const sameUserOtherClient = (await grantWithTokens(t)).tokens.access_token;
    const admin = await t.runtime.users.find('admin');
    assert.ok(admin);
    const adminKey = (await t.runtime.apiKeys.create({ user: admin, name: 'session binding' })).token;

    const unknown = await call(owner.tokens.access_token, crypto.randomUUID(), 'tools/call', { name: 'tiny_erase', arguments: {} });
    assert.equal(unknown.statusCode, 404);
    for (const intruder of [bobToken, sameUserOtherClient, adminKey]) {
      const res = await call(intruder, sessionId, 'tools/call', { name: 'tiny_erase', arguments: {} });
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(res.json(), unknown.json(), 'answered exactly like an unknown session');
    }
    assert.equal(tiny.erased(), 0, 'the tool never ran for an intruder');
    assert.ok((await toolNames(owner.tokens.access_token, sessionId)).length > 0, 'the owner still uses it');
  });

  it('mcp:read lists and calls read-only tools; a writing tool needs mcp:write (403 step-up naming every needed scope)', async () => {
    const { tokens } = await grantWithTokens(t, { scope: 'mcp:read' });
    const sessionId = await openSession(tokens.access_token);
    assert.deepEqual((await toolNames(tokens.access_token, sessionId)).sort(), ['tiny_erase', 'tiny_lookup']);

    const lookup = await call(tokens.access_token, sessionId, 'tools/call', { name: 'tiny_lookup', arguments: { q: 'x' } });
    assert.equal(lookup.statusCode, 200, lookup.body);
    assert.equal(messagesOf(lookup)[0]?.result?.content?.[0]?.text, 'found x');

    const erase = await call(tokens.access_token, sessionId, 'tools/call', { name: 'tiny_erase', arguments: {} });
    assert.equal(erase.statusCode, 403);
    assert.equal(erase.headers['www-authenticate'], `Bearer error="insufficient_scope", scope="mcp:write", resource_metadata="${resourceMetadata()}"`);

    const batch = await post(tokens.access_token, [
      { jsonrpc: '2.0', id: 901, method: 'tools/list' },
      { jsonrpc: '2.0', id: 902, method: 'tools/call', params: { name: 'tiny_erase', arguments: {} } },
    ], sessionId);
    assert.equal(batch.statusCode, 403);
    assert.match(String(batch.headers['www-authenticate']), /scope="mcp:read mcp:write"/);
    assert.equal(tiny.erased(), 0);
  });

  it('bad bodies get JSON-RPC errors (-32700, -32600, 413) and leave other sessions working', async () => {
    const { tokens } = await grantWithTokens(t);
    const token = tokens.access_token;
    const sessionId = await openSession(token);

    const malformed = await post(token, '{"jsonrpc": "2.0", "id": 1, "method": ', sessionId);
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.code, -32700);

    for (const notRpc of ['{"hello": "world"}', '[]', '42']) {
      const res = await post(token, notRpc, sessionId);
      assert.equal(res.statusCode, 400, notRpc);
      assert.equal(res.json().error.code, -32600, notRpc);
    }

    const oversized = await post(token, { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { pad: 'x'.repeat(4096) } }, sessionId);
    assert.equal(oversized.statusCode, 413);
    assert.equal(oversized.json().jsonrpc, '2.0');
    assert.equal(typeof oversized.json().error.code, 'number');

    const wrongType = await gw.inject({ method: 'POST', url: '/mcp', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, payload: 'hi' });
    assert.equal(wrongType.statusCode, 415);
    assert.equal(wrongType.json().jsonrpc, '2.0');

    assert.ok((await toolNames(token, sessionId)).includes('tiny_lookup'));
  });

  it('negotiates 2025-06-18 and 2025-11-25, and answers an unknown revision with the newest it speaks', async () => {
    const { tokens } = await grantWithTokens(t);
    const negotiated = async (protocolVersion: string) => {
      const res = await post(tokens.access_token, { ...initialize(), params: { ...initialize().params, protocolVersion } });
      assert.equal(res.statusCode, 200, res.body);
      return messagesOf(res)[0]?.result?.protocolVersion;
    };
    assert.equal(await negotiated('2025-06-18'), '2025-06-18');
    assert.equal(await negotiated('2025-11-25'), '2025-11-25');
    assert.equal(await negotiated('2099-01-01'), LATEST_PROTOCOL_VERSION);
  });

  it('requests other than initialize need a session id', async () => {
    const { tokens } = await grantWithTokens(t);
    const res = await post(tokens.access_token, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().jsonrpc, '2.0');
  });

  it('DELETE ends the session and drops it from the table', async () => {
    const { tokens } = await grantWithTokens(t);
    const sessionId = await openSession(tokens.access_token);
    const before = sessions.size;
    const res = await gw.inject({
      method: 'DELETE',
      url: '/mcp',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(sessions.size, before - 1);
    assert.equal((await call(tokens.access_token, sessionId, 'tools/list')).statusCode, 404);
  });

  it('CORS: preflights pass without credentials and allow the MCP headers', async () => {
    const res = await gw.inject({ method: 'OPTIONS', url: '/mcp', headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST' } });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.match(String(res.headers['access-control-allow-headers']), /Mcp-Session-Id/);
    assert.match(String(res.headers['access-control-expose-headers']), /WWW-Authenticate/);
  });
});

describe('/mcp session limit', () => {
  it('refuses a new session with 503 when the table is full, and serves the open ones', async () => {
    const t = await startTestApp();
    const tiny = await tinyRegistry();
    const gw = Fastify();
    await gw.register(gatewayRoutes, { deps: t.runtime, upstreams: tiny.registry, sessions: mcpSessionTable({ maxSessions: 1, store: t.runtime.store.mcpSessions, announceEnded: async () => undefined }) });
    try {
      const { tokens } = await grantWithTokens(t);
      const headers = { authorization: `Bearer ${tokens.access_token}`, accept: ACCEPT, 'content-type': 'application/json' };
      const first = await gw.inject({ method: 'POST', url: '/mcp', headers, payload: initialize() });
      assert.equal(first.statusCode, 200, first.body);
      const second = await gw.inject({ method: 'POST', url: '/mcp', headers, payload: initialize() });
      assert.equal(second.statusCode, 503);
      assert.equal(second.headers['retry-after'], '60');
      const ping = await gw.inject({
        method: 'POST',
        url: '/mcp',
        headers: { ...headers, 'mcp-session-id': String(first.headers['mcp-session-id']), 'mcp-protocol-version': PROTOCOL },
        payload: { jsonrpc: '2.0', id: 2, method: 'ping' },
      });
      assert.equal(ping.statusCode, 200, ping.body);
    } finally {
      await gw.close();
      await tiny.close();
      await t.close();
    }
  });
});

describe('/mcp sessions out of memory', () => {
  it('an idle session leaves memory, then serves its owner (and only its owner) from the store until DELETE', async () => {
    const t = await startTestApp();
    const tiny = await tinyRegistry();
    const sessions = mcpSessionTable({ hibernateMs: 0, store: t.runtime.store.mcpSessions, announceEnded: async () => undefined });
    const gw = Fastify();
    await gw.register(gatewayRoutes, { deps: t.runtime, upstreams: tiny.registry, sessions });
    try {
      const { tokens } = await grantWithTokens(t);
      const { tokens: others } = await grantWithTokens(t); // another client of the same user
      const headers = (token: string, sessionId?: string) => ({
        authorization: `Bearer ${token}`,
        accept: ACCEPT,
        'content-type': 'application/json',
        ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL } : {}),
      });
      const opened = await gw.inject({ method: 'POST', url: '/mcp', headers: headers(tokens.access_token), payload: initialize() });
      const sessionId = String(opened.headers['mcp-session-id']);
      const post = (token: string, payload: unknown) => gw.inject({ method: 'POST', url: '/mcp', headers: headers(token, sessionId), payload: JSON.stringify(payload) });
      assert.equal((await post(tokens.access_token, { jsonrpc: '2.0', method: 'notifications/initialized' })).statusCode, 202);

      assert.equal(await sessions.hibernateIdle(), 1);
      assert.equal(sessions.size, 0);
      const lookup = await post(tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'tiny_lookup', arguments: { q: 'again' } } });
      assert.equal(lookup.statusCode, 200, lookup.body);
      assert.equal(messagesOf(lookup)[0]?.result?.content?.[0]?.text, 'found again');
      assert.equal(sessions.size, 1, 'rebuilt here');

      assert.equal(await sessions.hibernateIdle(), 1);
      assert.equal((await post(others.access_token, { jsonrpc: '2.0', id: 3, method: 'tools/list' })).statusCode, 404, 'another client: as if unknown');
      const ended = await gw.inject({ method: 'DELETE', url: '/mcp', headers: headers(tokens.access_token, sessionId) });
      assert.equal(ended.statusCode, 200, ended.body);
      assert.equal((await post(tokens.access_token, { jsonrpc: '2.0', id: 4, method: 'tools/list' })).statusCode, 404);
    } finally {
      await gw.close();
      await tiny.close();
      await t.close();
    }
  });
});

describe('/mcp tools/call faults', () => {
  it('a fault of the pipeline (not a JSON-RPC error) is answered -32603 "Internal error" without its details, and logged', async () => {
    const t = await startTestApp();
    const tiny = await tinyRegistry();
    const logged: unknown[] = [];
    const gw = Fastify();
    gw.addHook('onRequest', async (request) => {
      request.log.error = ((details: unknown) => void logged.push(details)) as typeof request.log.error;
    });
    await gw.register(gatewayRoutes, {
      deps: t.runtime,
      upstreams: tiny.registry,
      gateway: {
        createServer: (context) => ({
          server: createGatewayServer(context),
          callTool: async () => {
            throw new Error('SQLITE_CORRUPT: database disk image is malformed at /srv/data/gatehouse.db');
          },
        }),
        scopesRequiredFor,
      },
    });
    try {
      const { tokens } = await grantWithTokens(t);
      const headers = { authorization: `Bearer ${tokens.access_token}`, accept: ACCEPT, 'content-type': 'application/json' };
      const opened = await gw.inject({ method: 'POST', url: '/mcp', headers, payload: initialize() });
      const session = { ...headers, 'mcp-session-id': String(opened.headers['mcp-session-id']), 'mcp-protocol-version': PROTOCOL };
      await gw.inject({ method: 'POST', url: '/mcp', headers: session, payload: { jsonrpc: '2.0', method: 'notifications/initialized' } });
      const res = await gw.inject({ method: 'POST', url: '/mcp', headers: session, payload: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'tiny_lookup', arguments: { q: 'x' } } } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'Internal error' } });
      assert.ok(!res.body.includes('SQLITE'));
      assert.equal(logged.length, 1);
      assert.match(String((logged[0] as { err: Error }).err.message), /SQLITE_CORRUPT/);
    } finally {
      await gw.close();
      await tiny.close();
      await t.close();
    }
  });
});

describe('/mcp with the MCP SDK client', () => {
  it('initializes, lists and calls demo tools, and ends the session with DELETE', async () => {
    const t = await startTestApp({ listen: true });
    try {
      const { tokens } = await grantWithTokens(t);
      const url = new URL(`${t.url}/mcp`);
      const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${tokens.access_token}` } } });
      const client = new Client({ name: 'sdk-routes-test', version: '1.0.0' });
      await client.connect(transport);
      const sessionId = transport.sessionId;
      assert.ok(sessionId);
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0);
      const add = tools.find((tool) => tool.name.endsWith('_add'));
      assert.ok(add, 'the demo upstream lists add');
      const result = await client.callTool({ name: add.name, arguments: { a: 2, b: 3 } });
      assert.deepEqual(result.structuredContent, { sum: 5 });
      await transport.terminateSession();
      const after = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
      assert.equal(after.status, 404);
      await client.close();
    } finally {
      await t.close();
    }
  });
});

describe('/mcp shutdown', () => {
  it('closing the app ends open GET streams instead of waiting for them', { timeout: 30_000 }, async () => {
    const t = await startTestApp({ listen: true });
    const { tokens } = await grantWithTokens(t);
    const url = `${t.url}/mcp`;
    const headers = { authorization: `Bearer ${tokens.access_token}`, accept: ACCEPT, 'content-type': 'application/json' };
    const init = await fetch(url, { method: 'POST', headers, body: JSON.stringify(initialize()) });
    assert.equal(init.status, 200);
    await init.text();
    const sessionHeaders = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': PROTOCOL };
    const stream = await fetch(url, { method: 'GET', headers: { ...sessionHeaders, accept: 'text/event-stream' } });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get('content-type'), 'text/event-stream');
    await t.close();
    // The stream ends (or breaks) once the app has closed: reading it to the end settles.
    await stream.text().catch(() => '');
    assert.equal(stream.bodyUsed, true);
  });
});

describe('/mcp at shutdown: requests in flight finish', () => {
  /** An upstream whose `wait` tool answers once released, after a progress notification when asked for one. */
  function waitingServer() {
    const server = new McpServer({ name: 'slow', version: '1.0.0' });
    let started = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    server.registerTool('wait', { annotations: { readOnlyHint: true } }, async (extra) => {
      started += 1;
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1 } });
      await released;
      return { content: [{ type: 'text', text: 'done waiting' }] };
    });
    return { server, started: () => started, release };
  }

  /** The real /mcp plugin over `waiting`'s upstream, listening; a session of an API key with its headers. */
  async function gatewayWith(waiting: ReturnType<typeof waitingServer>, shutdownTimeoutSeconds?: number) {
    const t = await startTestApp();
    const registry = testUpstreamRegistry();
    await registry.add({ id: 'ups_slow', name: 'slow', server: waiting.server });
    const gw = Fastify();
    const config = { ...t.runtime.config, ...(shutdownTimeoutSeconds === undefined ? {} : { shutdownTimeoutSeconds }) };
    await gw.register(gatewayRoutes, { deps: { ...t.runtime, config }, upstreams: registry });
    await gw.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(gw.server.address() as AddressInfo).port}/mcp`;
    const admin = await t.runtime.users.find('admin');
    const { token } = await t.runtime.apiKeys.create({ user: admin!, name: 'shutdown' });
    const headers = { authorization: `Bearer ${token}`, accept: ACCEPT, 'content-type': 'application/json' };
    const opened = await fetch(url, { method: 'POST', headers, body: JSON.stringify(initialize()) });
    await opened.text();
    const session = { ...headers, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': PROTOCOL };
    assert.equal((await fetch(url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status, 202);
    const callWait = (id: number, meta?: Record<string, unknown>) =>
      fetch(url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow_wait', arguments: {}, ...(meta ? { _meta: meta } : {}) } }) });
    return {
      gw,
      url,
      session,
      callWait,
      async close() {
        await gw.close();
        await registry.close();
        await t.close();
      },
    };
  }

  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('the GET stream ends at once; calls in flight, answered as a stream or as JSON, finish with their results before the app has closed', async () => {
    const waiting = waitingServer();
    const gateway = await gatewayWith(waiting);
    try {
      const stream = await fetch(gateway.url, { method: 'GET', headers: { ...gateway.session, accept: 'text/event-stream' } });
      assert.equal(stream.status, 200);
      const streamed = gateway.callWait(21, { progressToken: 'p-1' });
      const plain = gateway.callWait(22);
      await until(() => waiting.started() === 2);
      let closed = false;
      const closing = gateway.gw.close().then(() => (closed = true));
      await stream.text();
      assert.equal(closed, false, 'the app waits for the calls');
      waiting.release();
      const streamedBody = await (await streamed).text();
      assert.match(streamedBody, /"progress":1/);
      assert.match(streamedBody, /"id":21,"result":\{"content":\[\{"type":"text","text":"done waiting"\}\]\}/);
      assert.deepEqual(((await (await plain).json()) as { result: unknown }).result, { content: [{ type: 'text', text: 'done waiting' }] });
      await closing;
    } finally {
      waiting.release();
      await gateway.close();
    }
  });

  it('a call still running when the drain ends (the shutdown deadline less what the later steps need) is cut, and the app closes', async () => {
    const waiting = waitingServer();
    const gateway = await gatewayWith(waiting, 1);
    try {
      const call = gateway.callWait(31);
      await until(() => waiting.started() === 1);
      await gateway.gw.close();
      const answer = await call.then((response) => response.text()).catch((error: unknown) => String(error));
      assert.doesNotMatch(answer, /done waiting/);
    } finally {
      waiting.release();
      await gateway.close();
    }
  });
  it('while calls drain, a new request is refused with 503, and the client\'s answer to what a call in flight asked still reaches it', async () => {
    // An upstream whose `ask` samples the caller's model on the call's own stream and answers with what it said.
    const upstream = await startConformanceUpstream(() => {
      const asking = new McpServer({ name: 'asking', version: '1.0.0' });
      asking.registerTool('ask', { annotations: { readOnlyHint: true } }, async (extra) => {
        const params = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'Say something' } }], maxTokens: 5 };
        const said = await extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema);
        return { content: [{ type: 'text', text: `the model said: ${said.content.type === 'text' ? said.content.text : '?'}` }] };
      });
      return asking;
    });
    const files = tempDir();
    const config = path.join(files.dir, 'gatehouse.json');
    writeFileSync(config, JSON.stringify({ upstreams: [{ name: 'asker', connection_type: 'http', connection_string: upstream.url }] }));
    // The app as it serves: /mcp in front of Fastify.
    const t = await startTestApp({ listen: true, flags: { config, noDemo: true } });
    const client = new Client({ name: 'drain-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    try {
      await waitFor('the upstream connected', () => (t.runtime.upstreams.all().every((each) => each.status().state === 'connected') ? true : undefined));
      const { token } = await t.runtime.apiKeys.create({ user: (await t.runtime.users.find('admin'))!, name: 'drain' });
      const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
      let closing: Promise<void> | undefined;
      let refused: Response | undefined;
      client.setRequestHandler(CreateMessageRequestSchema, async () => {
        // The call is in flight, waiting for this answer: the replica starts closing now, and turns new requests away.
        closing = t.app.close();
        const session = { authorization: `Bearer ${token}`, accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': PROTOCOL };
        do {
          refused = await fetch(`${t.url}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }) });
          await refused.text();
        } while (refused.status !== 503);
        return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'hello' } };
      });
      await client.connect(transport);
      const result = await client.callTool({ name: 'asker_ask', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: 'the model said: hello' }]);
      assert.equal(refused?.status, 503);
      assert.equal(refused?.headers.get('connection'), 'close');
      await closing;
    } finally {
      await client.close().catch(() => undefined);
      await t.close();
      await upstream.close();
      files.remove();
    }
  });
});
