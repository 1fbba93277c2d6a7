import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { connectWithToken, obtainAccessToken } from '../helpers/mcp-session.js';
import { waitFor } from '../helpers/wait-for.js';

/** Log lines as JSON, kept in memory: what an operator's log shipper would receive. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

async function scrape(t: TestApp): Promise<string> {
  return (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
}

function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('operations: MCP metrics and upstream logs after real calls', () => {
  let t: TestApp;
  let upstream: HttpUpstream;
  const log = capturedLog();
  const admin = basicAuth('admin', TEST_ADMIN_PASSWORD);

  before(async () => {
    upstream = await startHttpUpstream();
    t = await startTestApp({ listen: true, logger: log.logger, flags: { noDemo: true, allowPrivateNetworks: true, audit: { logToolCalls: true } } });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/mcp/client',
      headers: { authorization: admin },
      payload: { name: 'tickets', connection_type: 'http', connection_string: upstream.url },
    });
    assert.equal(created.statusCode, 201, created.body);
    await waitFor('the upstream connected', async () => (sample(await scrape(t), 'gatehouse_upstream_state', { upstream: 'tickets', state: 'connected' }) === 1 ? true : undefined));
  });
  after(async () => {
    await t.close();
    await upstream.close().catch(() => undefined);
  });

  it('counts tool calls by upstream, tool and outcome, times them, counts sessions and issued tokens, and logs each call', async () => {
    const tokens = await obtainAccessToken(t.url!, { username: 'admin', password: TEST_ADMIN_PASSWORD });
    const { client } = await connectWithToken(`${t.url}/mcp`, tokens.access_token);
    try {
      const tools = await client.listTools();
      const echo = tools.tools.find((tool) => tool.name.endsWith('echo'));
      assert.ok(echo, JSON.stringify(tools.tools.map((tool) => tool.name)));
      await client.callTool({ name: echo.name, arguments: { text: 'hi' } });
      await client.callTool({ name: echo.name, arguments: { text: 'again' } });
      const metrics = await scrape(t);
      assert.equal(sample(metrics, 'gatehouse_mcp_tool_calls_total', { upstream: 'tickets', tool: 'echo', outcome: 'ok' }), 2);
      assert.equal(sample(metrics, 'gatehouse_mcp_tool_call_duration_seconds_count', { upstream: 'tickets' }), 2);
      assert.equal(sample(metrics, 'gatehouse_oauth_tokens_issued_total', { grant_type: 'authorization_code' }), 1);
      assert.match(metrics, /^gatehouse_mcp_sessions 1$/m);
      const calls = log.lines.filter((line) => line.tool === 'echo' && line.upstream === 'tickets');
      assert.equal(calls.length, 2);
      assert.equal(calls[0]!.outcome, 'ok');
      assert.equal(JSON.stringify(calls).includes('again'), false, 'arguments never reach the log');
    } finally {
      await client.close();
    }
  });

  it('logs an upstream going down with its reason and coming back, and the state metric follows', async () => {
    const port = upstream.port;
    await upstream.close();
    await t.app.inject({ method: 'POST', url: '/api/mcp/client/' + (await upstreamId(t)) + '/reconnect', headers: { authorization: admin } });
    await waitFor('the failure logged', () => (log.lines.some((line) => line.upstream === 'tickets' && line.state === 'error') ? true : undefined));
    const failed = log.lines.find((line) => line.upstream === 'tickets' && line.state === 'error')!;
    assert.equal(failed.level, 40, 'a failure is a warning');
    assert.equal(typeof failed.reason, 'string');
    assert.match(String(failed.msg), /^upstream tickets failed: /);
    assert.equal(sample(await scrape(t), 'gatehouse_upstream_state', { upstream: 'tickets', state: 'error' }), 1);

    upstream = await startHttpUpstream({ port });
    await t.app.inject({ method: 'POST', url: '/api/mcp/client/' + (await upstreamId(t)) + '/reconnect', headers: { authorization: admin } });
    await waitFor('the upstream back', async () => (sample(await scrape(t), 'gatehouse_upstream_state', { upstream: 'tickets', state: 'connected' }) === 1 ? true : undefined));
    assert.ok(log.lines.some((line) => line.upstream === 'tickets' && line.msg === 'upstream tickets reconnecting'));
    assert.equal(log.lines.filter((line) => line.upstream === 'tickets' && line.msg === 'upstream tickets connected').length >= 2, true);
  });
});

async function upstreamId(t: TestApp): Promise<string> {
  const list = (await t.app.inject({ method: 'GET', url: '/api/mcp/clients', headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) } })).json() as { clients: { id: string; name: string }[] };
  return list.clients.find((u) => u.name === 'tickets')!.id;
}
