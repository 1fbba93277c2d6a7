import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttpUpstream } from '../fixtures/upstreams/http-server.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { connectWithToken } from '../helpers/mcp-session.js';
import { waitFor } from '../helpers/wait-for.js';

const ADMIN = { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) };

interface CreatedAccount {
  id: string;
  name: string;
  client_id: string;
  client_secret: string;
  groups: string[];
  scopes: string[];
}

describe('service accounts and client_credentials', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    t = await startTestApp({ listen: true });
    url = t.url!;
  });
  after(() => t.close());

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/api${path}`, {
      method,
      headers: { ...ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const create = async (body: Record<string, unknown>) => {
    const created = await api('POST', '/service-accounts', body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as CreatedAccount;
  };
  const tokenRequest = (form: Record<string, string>, authorization?: string) =>
    fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
      body: new URLSearchParams(form).toString(),
    });
  const tokenFor = async (account: CreatedAccount, secret = account.client_secret) => {
    const response = await tokenRequest({ grant_type: 'client_credentials', resource: `${url}/mcp` }, basicAuth(account.client_id, secret));
    return { status: response.status, body: await response.json() };
  };
  const mcpStatus = async (token: string) =>
    (await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    })).status;

  it('creation shows the secret once; the list never does', async () => {
    const account = await create({ name: 'Nightly-Reports', groups: ['reporting'], scopes: ['mcp:read'] });
    assert.deepEqual([account.name, account.groups, account.scopes], ['nightly-reports', ['reporting'], ['mcp:read']]);
    assert.match(account.client_secret, /^gth_cs_/);
    const listed = await api('GET', '/service-accounts');
    assert.equal(listed.status, 200);
    const shown = listed.body.service_accounts.find((entry: { id: string }) => entry.id === account.id);
    assert.deepEqual(Object.keys(shown).sort(), ['client_id', 'created_at', 'groups', 'id', 'name', 'scopes']);
    const user = (await api('GET', '/users')).body.users.find((entry: { username: string }) => entry.username === 'nightly-reports');
    assert.deepEqual([user.source, user.groups], ['service_account', ['reporting']]);
  });

  it('a name taken by a user, an unknown scope or a bad name is refused', async () => {
    assert.equal((await api('POST', '/service-accounts', { name: 'admin' })).status, 409);
    assert.equal((await api('POST', '/service-accounts', { name: 'x', scopes: ['root'] })).status, 400);
    assert.equal((await api('POST', '/service-accounts', { name: ' bad name!' })).status, 400);
  });

  it('the MCP SDK client gets a token with client_credentials and works at /mcp under the account\u2019s name, in the audit', async () => {
    const account = await create({ name: 'sdk-robot' });
    const authProvider = new ClientCredentialsProvider({ clientId: account.client_id, clientSecret: account.client_secret, expectedIssuer: t.config.publicUrl });
    const client = new Client({ name: 'robot', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { authProvider }));
    const tools = await client.listTools();
    const add = tools.tools.find((tool) => tool.name.endsWith('add'))!;
    const result = await client.callTool({ name: add.name, arguments: { a: 2, b: 3 } });
    assert.deepEqual(result.structuredContent, { sum: 5 });
    await client.close();
    assert.equal(authProvider.tokens()?.refresh_token, undefined, 'no refresh token');
    const audit = await api('GET', '/audit?user=sdk-robot');
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    assert.deepEqual(audit.body.entries.map((entry: { user: string; tool: string; client_id: string }) => [entry.user, entry.tool, entry.client_id]), [['sdk-robot', 'add', account.client_id]]);
  });

  it('the token endpoint: basic or post, resource required, scope within the account\u2019s, no refresh token', async () => {
    const account = await create({ name: 'reader', scopes: ['mcp:read'] });
    const basic = await tokenFor(account);
    assert.equal(basic.status, 200, JSON.stringify(basic.body));
    assert.deepEqual([basic.body.scope, basic.body.refresh_token], ['mcp:read', undefined]);
    const post = await tokenRequest({ grant_type: 'client_credentials', resource: `${url}/mcp`, client_id: account.client_id, client_secret: account.client_secret, scope: 'mcp:read' });
    assert.equal(post.status, 200);
    const noResource = await tokenRequest({ grant_type: 'client_credentials' }, basicAuth(account.client_id, account.client_secret));
    assert.deepEqual([noResource.status, (await noResource.json()).error], [400, 'invalid_target']);
    const otherResource = await tokenRequest({ grant_type: 'client_credentials', resource: 'https://elsewhere.example/mcp' }, basicAuth(account.client_id, account.client_secret));
    assert.deepEqual([otherResource.status, (await otherResource.json()).error], [400, 'invalid_target']);
    const wider = await tokenRequest({ grant_type: 'client_credentials', resource: `${url}/mcp`, scope: 'mcp:write' }, basicAuth(account.client_id, account.client_secret));
    assert.deepEqual([wider.status, (await wider.json()).error], [400, 'invalid_scope']);
    const wrongSecret = await tokenFor(account, 'gth_cs_wrong');
    assert.deepEqual([wrongSecret.status, wrongSecret.body.error], [401, 'invalid_client']);
  });

  it('rotating the secret refuses the old one at once', async () => {
    const account = await create({ name: 'rotating' });
    const rotated = await api('POST', `/service-accounts/${account.id}/rotate-secret`);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.client_secret, account.client_secret);
    assert.equal((await tokenFor(account)).status, 401);
    assert.equal((await tokenFor(account, rotated.body.client_secret)).status, 200);
    assert.equal((await api('POST', '/service-accounts/sa_unknown/rotate-secret')).status, 404);
  });

  it('deleting the account makes its tokens fail at /mcp at once', async () => {
    const account = await create({ name: 'short-lived' });
    const token = (await tokenFor(account)).body.access_token as string;
    assert.equal(await mcpStatus(token), 200);
    assert.equal((await api('DELETE', `/service-accounts/${account.id}`)).status, 204);
    assert.equal(await mcpStatus(token), 401);
    assert.equal((await tokenFor(account)).status, 401);
    assert.equal((await api('DELETE', `/service-accounts/${account.id}`)).status, 404);
    assert.ok(!(await api('GET', '/users')).body.users.some((user: { username: string }) => user.username === 'short-lived'), 'the name is free again');
  });

  it('the account\u2019s OAuth client cannot be deleted on its own through /api/oauth/clients', async () => {
    const account = await create({ name: 'kept-whole' });
    const refused = await api('DELETE', `/oauth/clients/${account.client_id}`);
    assert.deepEqual([refused.status, refused.body.error.code], [409, 'service_account_client']);
    assert.equal((await tokenFor(account)).status, 200);
  });

  it('an ordinary OAuth client may not use client_credentials', async () => {
    const registered = await fetch(`${url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'client_credentials'] }),
    });
    const client = await registered.json();
    assert.equal(registered.status, 201);
    assert.ok(!client.grant_types.includes('client_credentials'), 'registration drops the grant type');
    const response = await tokenRequest({ grant_type: 'client_credentials', resource: `${url}/mcp` }, basicAuth(client.client_id, client.client_secret));
    assert.deepEqual([response.status, (await response.json()).error], [400, 'unauthorized_client']);
  });

  it('an upstream\u2019s allowed_groups admit a service account of the group, not one outside it', async () => {
    const upstream = await startHttpUpstream({ name: 'robot-tools' });
    try {
      const created = await api('POST', '/mcp/client', { name: 'robottools', connection_type: 'http', connection_string: upstream.url, allowed_groups: ['robots'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const toolsOf = async (account: CreatedAccount) => {
        const token = (await tokenFor(account)).body.access_token as string;
        const { client } = await connectWithToken(`${url}/mcp`, token);
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        await client.close();
        return names;
      };
      const member = await create({ name: 'robot-member', groups: ['robots'] });
      const outsider = await create({ name: 'robot-outsider', groups: ['humans'] });
      await waitFor('the member to see the tools', async () => (await toolsOf(member)).some((name) => name.startsWith('robottools')) || undefined, 200);
      assert.ok(!(await toolsOf(outsider)).some((name) => name.startsWith('robottools')));
    } finally {
      await upstream.close();
    }
  });
});

