import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { obtainAccessToken } from '../helpers/mcp-session.js';
import { waitFor } from '../helpers/wait-for.js';

export const CLIENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const CLIENT_SPAN_ID = '00f067aa0ba902b7';

/** A listening gateway with one real HTTP upstream (`tickets`), reached with an OAuth token. */
export async function gatewayWithUpstream(): Promise<{ t: TestApp; upstream: HttpUpstream; token: string; close(): Promise<void> }> {
  const upstream = await startHttpUpstream();
  const t = await startTestApp({ listen: true, flags: { noDemo: true, allowPrivateNetworks: true } });
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/mcp/client',
    headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) },
    payload: { name: 'tickets', connection_type: 'http', connection_string: upstream.url },
  });
  assert.equal(created.statusCode, 201, created.body);
  await waitFor('the upstream connected', () => (t.runtime.upstreams.all().some((u) => u.status().state === 'connected') ? true : undefined));
  const tokens = await obtainAccessToken(t.url!, { username: 'admin', password: TEST_ADMIN_PASSWORD });
  return {
    t,
    upstream,
    token: tokens.access_token,
    async close() {
      await t.close();
      await upstream.close();
    },
  };
}

/** Calls the upstream's echo tool through the gateway as a client that sends `headers` (e.g. a traceparent). */
export async function callEcho(url: string, token: string, headers: Record<string, string>, meta?: Record<string, string>): Promise<void> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } } });
  const client = new Client({ name: 'trace-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    await client.callTool({ name: 'tickets_echo', arguments: { text: 'traced' }, ...(meta ? { _meta: meta } : {}) });
  } finally {
    await client.close();
  }
}

/** The traceparents the upstream received. */
export const traceparentsSeenBy = (upstream: HttpUpstream) =>
  upstream.requests.map((headers) => headers.traceparent).filter((value): value is string => typeof value === 'string');
