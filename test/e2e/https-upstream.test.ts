import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { basicAuth } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { connectWithOAuth } from '../helpers/mcp-session.js';
import { waitFor } from '../helpers/wait-for.js';
import { selfSignedCertificate } from '../net/tls-fixture.js';

/**
 * Upstreams over https, as production ones are: a `gatehouse serve` process that trusts a private certificate
 * through NODE_EXTRA_CA_CERTS (docs/configuration.md), SDK-built upstreams (test/fixtures/upstreams) behind a trusted
 * certificate, an untrusted one and a trusted one for another host name, and the SDK client after its OAuth flow.
 * Tool calls take the gateway's direct path (streamable-http/direct-requests.ts, undici), whose request ids are
 * `gatehouse-<n>`; initialize and the listings take the SDK's (fetch).
 */

const ADMIN = { username: 'admin', password: CHILD_ADMIN_PASSWORD };
const DIRECT_ID = /^gatehouse-\d+$/;

interface UpstreamView {
  id: string;
  name: string;
  status: { state: string; reason?: string };
}

const textOf = (result: CallToolResult) => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');

interface Posted {
  method?: string;
  id?: unknown;
  params?: { name?: string; requestId?: unknown };
}

describe('https upstreams: a private CA trusted through NODE_EXTRA_CA_CERTS, untrusted and misnamed certificates refused', { timeout: 120_000 }, () => {
  const temp = tempDir('gatehouse-https-e2e-');
  const trusted = selfSignedCertificate();
  const untrusted = selfSignedCertificate();
  /** Trusted, but for a name other than the address the upstream is reached at. */
  const misnamed = selfSignedCertificate(['DNS:elsewhere.test']);
  const upstreams = new Map<string, HttpUpstream>();
  let gatehouse: GatehouseChild;
  let admin: Client;

  const listUpstreams = async (): Promise<UpstreamView[]> => {
    const response = await fetch(`${gatehouse.url}/api/mcp/clients`, { headers: { authorization: basicAuth(ADMIN.username, ADMIN.password) } });
    return ((await response.json()) as { clients: UpstreamView[] }).clients;
  };
  const upstreamNamed = async (name: string) => (await listUpstreams()).find((upstream) => upstream.name === name)!;
  const posted = (name: string) => upstreams.get(name)!.posted.map(({ body, port }) => ({ message: body as Posted, port }));
  const healthy = async () => (await fetch(`${gatehouse.url}/health`)).status === 200;

  before(async () => {
    upstreams.set('secure', await startHttpUpstream({ name: 'secure', tls: trusted }));
    upstreams.set('untrusted', await startHttpUpstream({ name: 'untrusted', tls: untrusted }));
    upstreams.set('misnamed', await startHttpUpstream({ name: 'misnamed', tls: misnamed }));
    const caFile = path.join(temp.dir, 'private-ca.pem');
    writeFileSync(caFile, trusted.cert + misnamed.cert);
    const configFile = path.join(temp.dir, 'gatehouse.json');
    const declared = [...upstreams].map(([name, upstream]) => ({ name, connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }));
    writeFileSync(configFile, JSON.stringify({ upstreams: declared }));
    gatehouse = await startGatehouseChild(['--config', configFile, '--no-demo'], { NODE_EXTRA_CA_CERTS: caFile });
    await waitFor('the trusted upstream to connect and the others to fail', async () => {
      const states = new Map((await listUpstreams()).map((upstream) => [upstream.name, upstream.status.state]));
      return states.get('secure') === 'connected' && states.get('untrusted') === 'error' && states.get('misnamed') === 'error' ? true : undefined;
    });
    ({ client: admin } = await connectWithOAuth(gatehouse.url, ADMIN, { clientName: 'https upstream e2e' }));
  });
  after(async () => {
    await admin?.close().catch(() => undefined);
    await gatehouse?.stop();
    await Promise.all([...upstreams.values()].map((upstream) => upstream.close()));
    temp.remove();
  });

  it('tools/call reaches the https upstream on the direct path, two calls on one kept-alive TLS connection', async () => {
    for (const text of ['first over https', 'second over https']) {
      const result = (await admin.callTool({ name: 'secure_echo', arguments: { text } })) as CallToolResult;
      assert.equal(textOf(result), text);
      assert.ok(!result.isError);
    }
    const calls = posted('secure').filter(({ message }) => message.method === 'tools/call' && message.params?.name === 'echo');
    assert.equal(calls.length, 2);
    for (const { message } of calls) assert.match(String(message.id), DIRECT_ID, 'sent by the direct path, not the SDK client');
    assert.equal(new Set(calls.map(({ port }) => port)).size, 1, 'the second call reused the first one’s TLS connection');
  });

  it('cancelling a call over https posts notifications/cancelled to the upstream', { timeout: 30_000 }, async () => {
    const controller = new AbortController();
    let firstProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (firstProgress = resolve));
    const call = admin.callTool({ name: 'secure_slow', arguments: { ms: 60_000, steps: 100 } }, undefined, { signal: controller.signal, onprogress: () => firstProgress() });
    await progressed;
    controller.abort('the user gave up');
    await assert.rejects(call);
    const slow = posted('secure').filter(({ message }) => message.method === 'tools/call' && message.params?.name === 'slow').at(-1);
    assert.match(String(slow?.message.id), DIRECT_ID);
    await waitFor('notifications/cancelled at the upstream', () =>
      posted('secure').find(({ message }) => message.method === 'notifications/cancelled' && message.params?.requestId === slow?.message.id),
    );
  });

  it('an upstream whose certificate is untrusted, or names another host, is not connected, says why, and offers no tools', async () => {
    assert.match((await upstreamNamed('untrusted')).status.reason ?? '', /self[- ]signed certificate/);
    assert.match((await upstreamNamed('misnamed')).status.reason ?? '', /does not match certificate's altnames/);
    const names = (await admin.listTools()).tools.map((tool) => tool.name);
    assert.ok(names.includes('secure_echo'));
    assert.ok(!names.some((name) => name.startsWith('untrusted_') || name.startsWith('misnamed_')), names.join(', '));
    assert.ok(await healthy());
  });

  it('an https upstream back with an untrusted certificate: a call answers that it is unavailable, the gateway stays healthy, a trusted certificate again brings it back', { timeout: 60_000 }, async () => {
    const secure = upstreams.get('secure')!;
    await secure.close();
    upstreams.set('secure', await startHttpUpstream({ name: 'secure', port: secure.port, tls: untrusted }));
    const refused = (await admin.callTool({ name: 'secure_echo', arguments: { text: 'to an impostor' } })) as CallToolResult;
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /^Upstream "secure" is unavailable: /);
    assert.ok(!posted('secure').some(({ message }) => message.method === 'tools/call'), 'nothing reached the impostor');
    assert.ok(await healthy());
    await waitFor('the certificate error as the upstream’s reason', async () => {
      const { status } = await upstreamNamed('secure');
      return status.state === 'error' && /self[- ]signed certificate/.test(status.reason ?? '') ? true : undefined;
    });

    await upstreams.get('secure')!.close();
    upstreams.set('secure', await startHttpUpstream({ name: 'secure', port: secure.port, tls: trusted }));
    const { id } = await upstreamNamed('secure');
    await fetch(`${gatehouse.url}/api/mcp/client/${id}/reconnect`, { method: 'POST', headers: { authorization: basicAuth(ADMIN.username, ADMIN.password) } });
    await waitFor('the upstream to connect again', async () => ((await upstreamNamed('secure')).status.state === 'connected' ? true : undefined));
    const result = (await admin.callTool({ name: 'secure_echo', arguments: { text: 'trusted again' } })) as CallToolResult;
    assert.equal(textOf(result), 'trusted again');
  });
});
