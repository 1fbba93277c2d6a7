import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { basicAuth } from '../helpers/app.js';
import { WAIT_LIMIT_MS, waitFor } from '../helpers/wait-for.js';
import { tempDir } from '../helpers/backends.js';
import { startForwardingProxy, type ForwardingProxy } from '../helpers/forwarding-proxy.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { connectWithOAuth, connectWithToken, obtainAccessToken } from '../helpers/mcp-session.js';

/**
 * The gateway as users meet it: a `gatehouse serve` process, two real SDK-built upstreams (one over Streamable
 * HTTP, one over stdio, both test/fixtures/upstreams), and the MCP SDK client that first runs its own OAuth flow
 * against Gatehouse. The HTTP upstream is reached through a forwarding proxy that records what arrives on the
 * wire, so the test can see the cancellation reach the upstream.
 */

const ADMIN = { username: 'admin', password: CHILD_ADMIN_PASSWORD };
const BOB = { username: 'bob', password: 'Bob-e2e-pw-4821' };
/** `web` is the HTTP upstream (admin only), `local` the stdio one (everyone). Exposed names: `<upstream>_<tool>`. */
const WEB_TIMEOUT_MS = 3_000;

const textOf = (result: CallToolResult) => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');


describe('the gateway end to end: SDK client after OAuth, an HTTP and a stdio upstream, a gatehouse serve process', { timeout: 120_000 }, () => {
  const temp = tempDir('gatehouse-gateway-e2e-');
  let httpUpstream: HttpUpstream;
  let wire: ForwardingProxy;
  let gatehouse: GatehouseChild;
  let admin: Client;

  before(async () => {
    httpUpstream = await startHttpUpstream({ name: 'fixture-http' });
    wire = await startForwardingProxy(`http://127.0.0.1:${httpUpstream.port}`);
    const configFile = path.join(temp.dir, 'gatehouse.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        upstreams: [
          { name: 'web', connection_type: 'http', connection_string: `${wire.origin}/mcp`, auth_type: 'none', allowed_users: ['admin'], timeout_ms: WEB_TIMEOUT_MS },
          {
            name: 'local',
            connection_type: 'stdio',
            stdio_config: { command: process.execPath, args: ['--import', 'tsx', path.resolve('test/fixtures/upstreams/stdio-server.ts')] },
            auth_type: 'none',
          },
        ],
      }),
    );
    gatehouse = await startGatehouseChild(['--config', configFile, '--no-demo']);
    await waitFor('both upstreams to connect', async () => {
      const response = await fetch(`${gatehouse.url}/api/mcp/clients`, { headers: { authorization: basicAuth(ADMIN.username, ADMIN.password) } });
      const { clients } = (await response.json()) as { clients: { name: string; status: { state: string } }[] };
      return clients.length === 2 && clients.every((client) => client.status.state === 'connected') ? true : undefined;
    });
    ({ client: admin } = await connectWithOAuth(gatehouse.url, ADMIN, { clientName: 'gateway e2e (admin)' }));
  });
  after(async () => {
    await admin?.close().catch(() => undefined);
    await gatehouse?.stop();
    await wire?.close();
    await httpUpstream?.close();
    temp.remove();
  });

  it('after its OAuth flow, the SDK client lists the tools of both upstreams under prefixed names', async () => {
    const names = (await admin.listTools()).tools.map((tool) => tool.name);
    for (const tool of ['echo', 'slow', 'fail', 'add_tool']) {
      assert.ok(names.includes(`web_${tool}`), `web_${tool} in ${names.join(', ')}`);
      assert.ok(names.includes(`local_${tool}`), `local_${tool} in ${names.join(', ')}`);
    }
    assert.ok(names.every((name) => name.startsWith('web_') || name.startsWith('local_')), 'nothing but the two upstreams (no demo)');
  });

  it('calls reach the right upstream and come back unchanged', async () => {
    const fromWeb = (await admin.callTool({ name: 'web_echo', arguments: { text: 'over http' } })) as CallToolResult;
    assert.equal(textOf(fromWeb), 'over http');
    assert.ok(wire.messages.some((message) => message.method === 'tools/call' && message.params?.name === 'echo'), 'the HTTP upstream got tools/call for its own name');
    const fromLocal = (await admin.callTool({ name: 'local_echo', arguments: { text: 'over stdio' } })) as CallToolResult;
    assert.equal(textOf(fromLocal), 'over stdio');
    assert.ok(!fromWeb.isError && !fromLocal.isError);
  });

  it('progress notifications of a slow tool reach the client, from either upstream', async () => {
    for (const upstream of ['web', 'local']) {
      const progress: Progress[] = [];
      const result = (await admin.callTool({ name: `${upstream}_slow`, arguments: { ms: 80, steps: 4 } }, undefined, {
        onprogress: (update) => progress.push(update),
      })) as CallToolResult;
      assert.equal(textOf(result), 'waited 80 ms');
      // Every step, in order, before the result (the last one included, over stdio too).
      const steps = progress.map((update) => [update.progress, update.total]);
      assert.deepEqual(steps, [[1, 4], [2, 4], [3, 4], [4, 4]], `progress from ${upstream}`);
    }
  });

  it('cancelling a slow call rejects it at once, the upstream receives notifications/cancelled, and the session keeps working', { timeout: 30_000 }, async () => {
    const controller = new AbortController();
    let firstProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (firstProgress = resolve));
    const call = admin.callTool({ name: 'web_slow', arguments: { ms: 60_000, steps: 100 } }, undefined, {
      signal: controller.signal,
      onprogress: () => firstProgress(),
    });
    await progressed; // the upstream is running the tool
    const sentAt = Date.now();
    controller.abort('the user gave up');
    await assert.rejects(call);
    const rejectedAfterMs = Date.now() - sentAt;

    const upstreamCall = wire.messages.filter((message) => message.method === 'tools/call' && message.params?.name === 'slow').at(-1);
    assert.ok(upstreamCall?.id !== undefined, 'the slow call went upstream');
    const cancel = await waitFor('notifications/cancelled at the upstream', () =>
      wire.messages.find((message) => message.method === 'notifications/cancelled' && message.params?.requestId === upstreamCall.id),
    );
    assert.ok(cancel, `the cancellation names the upstream request id (the call was rejected ${rejectedAfterMs} ms after the abort)`);

    const after = (await admin.callTool({ name: 'web_echo', arguments: { text: 'still here' } })) as CallToolResult;
    assert.equal(textOf(after), 'still here');
  });

  it('a tool that fails answers with an error result marked isError, not a protocol error', async () => {
    const result = (await admin.callTool({ name: 'local_fail', arguments: { message: 'it broke upstream' } })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'it broke upstream');
  });

  it('a tool added upstream at runtime sends notifications/tools/list_changed to the client and appears in tools/list', async () => {
    let notified!: () => void;
    const listChanged = new Promise<void>((resolve) => (notified = resolve));
    admin.setNotificationHandler(ToolListChangedNotificationSchema, () => notified());
    const added = (await admin.callTool({ name: 'local_add_tool', arguments: { name: 'added_later' } })) as CallToolResult;
    assert.equal(textOf(added), 'added added_later');
    await Promise.race([listChanged, sleep(WAIT_LIMIT_MS).then(() => assert.fail('no notifications/tools/list_changed reached the client'))]);

    const names = await waitFor('local_added_later in tools/list', async () => {
      const listed = (await admin.listTools()).tools.map((tool) => tool.name);
      return listed.includes('local_added_later') ? listed : undefined;
    });
    assert.ok(names.includes('web_echo'), 'the other upstream\'s tools are still listed');
    const result = (await admin.callTool({ name: 'local_added_later', arguments: { text: 'new tool' } })) as CallToolResult;
    assert.equal(textOf(result), 'new tool');
  });

  it('a user outside an upstream\'s allowed_users sees none of its tools and cannot call them', async () => {
    const created = await fetch(`${gatehouse.url}/api/users`, {
      method: 'POST',
      headers: { authorization: basicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' },
      body: JSON.stringify(BOB),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const token = await obtainAccessToken(gatehouse.url, BOB);
    const { client: bob } = await connectWithToken(`${gatehouse.url}/mcp`, token.access_token);
    try {
      const names = (await bob.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('local_echo'), 'bob sees the upstream open to everyone');
      assert.deepEqual(names.filter((name) => name.startsWith('web_')), [], 'bob sees nothing of web');
      await assert.rejects(bob.callTool({ name: 'web_echo', arguments: { text: 'let me in' } }), (error: unknown) => {
        assert.ok(error instanceof McpError, String(error));
        assert.equal(error.code, ErrorCode.InvalidParams, 'a hidden tool answers like an unknown one');
        return true;
      });
      assert.ok(!wire.messages.some((message) => message.method === 'tools/call' && message.params?.arguments && (message.params.arguments as { text?: string }).text === 'let me in'), 'nothing reached the upstream');
    } finally {
      await bob.close();
    }
  });

  it('a token with only mcp:read lists tools and calls read-only ones; a write call gets 403 insufficient_scope naming mcp:write', async () => {
    const token = await obtainAccessToken(gatehouse.url, ADMIN, { scope: 'mcp:read' });
    assert.equal(token.scope, 'mcp:read');
    const { client: reader, transport } = await connectWithToken(`${gatehouse.url}/mcp`, token.access_token);
    try {
      const names = (await reader.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('local_fail') && names.includes('web_echo'));
      const readOnly = (await reader.callTool({ name: 'local_echo', arguments: { text: 'reading is fine' } })) as CallToolResult;
      assert.equal(textOf(readOnly), 'reading is fine', 'echo is annotated readOnlyHint: true');

      const refused = await fetch(`${gatehouse.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token.access_token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': transport.sessionId!,
          'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'local_fail', arguments: {} } }),
      });
      assert.equal(refused.status, 403);
      const challenge = refused.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^Bearer /);
      assert.match(challenge, /error="insufficient_scope"/);
      assert.match(/scope="([^"]*)"/.exec(challenge)?.[1] ?? '', /(^|\s)mcp:write(\s|$)/, challenge);
      assert.match(challenge, new RegExp(`resource_metadata="${gatehouse.url}/\\.well-known/oauth-protected-resource/mcp"`));
    } finally {
      await reader.close();
    }
  });

  it('an upstream that is down answers its tools with a clear error result within its timeout, while the other keeps working', async () => {
    await wire.close();
    await httpUpstream.close();
    const startedAt = Date.now();
    // The client's own limit is well above the upstream's timeout: a gateway that hangs fails here.
    const result = (await admin.callTool({ name: 'web_echo', arguments: { text: 'anyone there?' } }, undefined, { timeout: WEB_TIMEOUT_MS + 10_000 })) as CallToolResult;
    const tookMs = Date.now() - startedAt;
    assert.equal(result.isError, true, `an error result (after ${tookMs} ms)`);
    assert.match(textOf(result), /Upstream "web"/, textOf(result));

    const fromLocal = (await admin.callTool({ name: 'local_echo', arguments: { text: 'stdio is fine' } })) as CallToolResult;
    assert.equal(textOf(fromLocal), 'stdio is fine');
  });
});
