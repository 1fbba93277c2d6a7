import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt } from 'jose';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import type { PasswordCredentials } from '../helpers/headless-consent.js';
import { connectWithOAuth, connectWithToken, obtainAccessToken } from '../helpers/mcp-session.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

const CAROL: PasswordCredentials = { username: 'carol', password: 'carol-Password-1' };
const DAVE: PasswordCredentials = { username: 'dave', password: 'dave-Password-1' };
/** A raw initialize request body, for answers the SDK client would hide. */
const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe('virtual servers: curated tool sets at /mcp/{name}, each its own protected resource', () => {
  let t: TestApp;
  let upstream: HttpUpstream;
  let url: string;
  const keys: Record<string, string> = {};

  const admin = (method: 'GET' | 'POST' | 'PATCH', path: string, payload?: object) =>
    t.app.inject({ method, url: path, headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) }, ...(payload ? { payload } : {}) });

  before(async () => {
    t = await startTestApp({ listen: true, flags: { allowPrivateNetworks: true } });
    url = t.url!;
    upstream = await startHttpUpstream({ name: 'tickets' });
    for (const { username, password } of [CAROL, DAVE]) {
      const user = await t.runtime.users.create({ username, password });
      keys[username] = (await t.runtime.apiKeys.create({ user, name: 'mcp' })).token;
    }
    const created = await admin('POST', '/api/mcp/client', { name: 'tickets', connection_type: 'http', connection_string: upstream.url, require_approval: 'destructive' });
    assert.equal(created.statusCode, 201, created.body);
    const support = await admin('POST', '/api/virtual-servers', { name: 'support', tools: ['tickets_echo', 'tickets_fail'], allowed_users: ['carol'] });
    assert.equal(support.statusCode, 201, support.body);
    assert.equal(support.json().url, `${url}/mcp/support`);
  });
  after(async () => {
    await upstream?.close();
    await t?.close();
  });

  it('serves protected resource metadata per name, and 404 for an unknown name', async () => {
    const document = (await (await fetch(`${url}/.well-known/oauth-protected-resource/mcp/support`)).json()) as { resource: string; authorization_servers: string[] };
    assert.equal(document.resource, `${url}/mcp/support`);
    assert.deepEqual(document.authorization_servers, [url]);
    assert.equal((await fetch(`${url}/.well-known/oauth-protected-resource/mcp/nothing`)).status, 404);
    assert.equal((await fetch(`${url}/mcp/nothing`, { method: 'POST' })).status, 404);
  });

  it('a 401 at /mcp/{name} points at that name\'s metadata', async () => {
    const response = await fetch(`${url}/mcp/support`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', new RegExp(`resource_metadata="${url}/\\.well-known/oauth-protected-resource/mcp/support"`));
  });

  it('the SDK client goes through OAuth for /mcp/support and sees and calls only its tools, under the upstream\'s policies', async () => {
    const { client, provider } = await connectWithOAuth(url, CAROL, { path: '/mcp/support' });
    try {
      assert.equal(provider.authorizationUrl?.searchParams.get('resource'), `${url}/mcp/support`);
      assert.equal(decodeJwt(provider.tokens()!.access_token).aud, `${url}/mcp/support`, 'the token is for the virtual server');
      assert.deepEqual((await client.listTools()).tools.map((tool) => tool.name).sort(), ['tickets_echo', 'tickets_fail']);
      assert.equal(textOf((await client.callTool({ name: 'tickets_echo', arguments: { text: 'hello' } })) as CallToolResult), 'hello');
      await assert.rejects(client.callTool({ name: 'tickets_slow', arguments: { ms: 1 } }), /Unknown tool: tickets_slow/);
      assert.deepEqual((await client.listPrompts()).prompts, []);
      // require_approval of the upstream still holds its tools here.
      assert.match(textOf((await client.callTool({ name: 'tickets_fail', arguments: { message: 'x' } })) as CallToolResult), /needs your approval/);
    } finally {
      await client.close();
    }
  });

  it('tokens are audience-checked per resource: a /mcp/support token is refused at /mcp, a /mcp token at /mcp/support', async () => {
    const forSupport = (await obtainAccessToken(url, CAROL, { path: '/mcp/support' })).access_token;
    const forMcp = await obtainAccessToken(url, CAROL);
    const refused = async (path: string, token: string) => {
      const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: initialize });
      assert.equal(response.status, 401, `${path} answered ${response.status}`);
      assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    };
    await refused('/mcp', forSupport);
    await refused('/mcp/support', forMcp.access_token);
    const { client } = await connectWithToken(`${url}/mcp/support`, forSupport);
    await client.close();
  });

  it('a user outside allowed_users is refused with 403, with a token for it as with an API key', async () => {
    const token = (await obtainAccessToken(url, DAVE, { path: '/mcp/support' })).access_token;
    for (const credential of [token, keys.dave!]) {
      const response = await fetch(`${url}/mcp/support`, { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: initialize });
      assert.equal(response.status, 403);
      assert.match(await response.text(), /not among the users allowed/);
    }
  });

  it('a session opened at /mcp/support is not served at /mcp', async () => {
    const { client, transport } = await connectWithToken(`${url}/mcp/support`, keys.carol!);
    try {
      const response = await fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.carol}`, 'mcp-session-id': transport.sessionId!, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(response.status, 404);
    } finally {
      await client.close();
    }
  });

  it('a change of its tools reaches open sessions as tools/list_changed', async () => {
    const { client } = await connectWithToken(`${url}/mcp/support`, keys.carol!);
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
      assert.equal((await client.listTools()).tools.length, 2);
      const patched = await admin('PATCH', '/api/virtual-servers/support', { tools: ['tickets_echo'] });
      assert.equal(patched.statusCode, 200, patched.body);
      await waitFor('tools/list_changed', () => (changed > 0 ? true : undefined));
      assert.deepEqual((await client.listTools()).tools.map((tool) => tool.name), ['tickets_echo']);
      await assert.rejects(client.callTool({ name: 'tickets_fail', arguments: {} }), /Unknown tool/);
    } finally {
      await client.close();
      await admin('PATCH', '/api/virtual-servers/support', { tools: ['tickets_echo', 'tickets_fail'] });
    }
  });

});
