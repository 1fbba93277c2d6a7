import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { directRequests } from '../../../src/upstream/streamable-http/direct-requests.js';
import { negotiateEra } from '../../../src/upstream/streamable-http/era-negotiation.js';
import { startHttpUpstream } from '../../fixtures/upstreams/http-server.js';
import { startStatelessUpstream } from '../../fixtures/upstreams/stateless-server.js';

const clientInfo = { name: 'gatehouse', version: 'test' };

/** The direct path to `url` (its SDK transport only lends it the session fields, which stay empty here). */
function directTo(url: string) {
  return directRequests({ url: new URL(url), headers: {}, transport: new StreamableHTTPClientTransport(new URL(url)) });
}

/** A server that answers every POST with `answers` in turn (status and JSON body), recording the bodies. */
async function scripted(answers: Array<{ status: number; body: unknown }>): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown };
    bodies.push(body);
    const answer = answers.shift() ?? { status: 500, body: {} };
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, ...(answer.body as object) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, bodies, server };
}

describe('finding an upstream’s era', () => {
  const closers: Array<() => unknown> = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('takes a server that answers server/discover with 2026-07-28 as stateless, with what it said of itself', async () => {
    const upstream = await startStatelessUpstream();
    closers.push(() => upstream.close());
    const direct = directTo(upstream.url);
    closers.push(() => direct.close());
    const negotiated = await negotiateEra(direct, clientInfo, 5000);
    assert.equal(negotiated.era, 'stateless');
    assert.deepEqual(negotiated.era === 'stateless' && negotiated.discovered.serverInfo, { name: 'stateless-upstream', version: '1.0.0' });
    assert.equal(direct.protocolVersion(), '2026-07-28');
    assert.equal(upstream.requests[0]!.headers['mcp-method'], 'server/discover');
  });

  it('falls back to the session era for a 2025 SDK server, and leaves the direct path speaking it', async () => {
    const upstream = await startHttpUpstream();
    closers.push(() => upstream.close());
    const direct = directTo(upstream.url);
    closers.push(() => direct.close());
    assert.deepEqual(await negotiateEra(direct, clientInfo, 5000), { era: 'session' });
    assert.equal(direct.protocolVersion(), undefined);
  });

  it('asks again after an UnsupportedProtocolVersionError that lists 2026-07-28, instead of falling back', async () => {
    const server = await scripted([
      { status: 400, body: { error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'], requested: 'x' } } } },
      { status: 200, body: { result: { resultType: 'complete', supportedVersions: ['2026-07-28'], capabilities: { tools: {} } } } },
    ]);
    closers.push(() => server.server.close());
    const direct = directTo(server.url);
    closers.push(() => direct.close());
    assert.equal((await negotiateEra(direct, clientInfo, 5000)).era, 'stateless');
    assert.equal(server.bodies.length, 2);
  });

  it('falls back when the versions offered do not include 2026-07-28', async () => {
    const server = await scripted([{ status: 400, body: { error: { code: -32022, message: 'Unsupported', data: { supported: ['2027-01-01'] } } } }]);
    closers.push(() => server.server.close());
    const direct = directTo(server.url);
    closers.push(() => direct.close());
    assert.deepEqual(await negotiateEra(direct, clientInfo, 5000), { era: 'session' });
  });

  it('fails, rather than falls back, when a modern server refuses the request’s headers', async () => {
    const server = await scripted([{ status: 400, body: { error: { code: -32020, message: 'Header mismatch: Mcp-Method' } } }]);
    closers.push(() => server.server.close());
    const direct = directTo(server.url);
    closers.push(() => direct.close());
    await assert.rejects(negotiateEra(direct, clientInfo, 5000), /refused Gatehouse's 2026-07-28 request: .*Header mismatch/);
  });
});
