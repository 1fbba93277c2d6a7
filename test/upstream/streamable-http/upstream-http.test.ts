import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { directRequests } from '../../../src/upstream/streamable-http/direct-requests.js';
import { startHttpUpstream } from '../../fixtures/upstreams/http-server.js';
import { selfSignedCertificate } from '../../net/tls-fixture.js';

/**
 * The direct path's connections to an https upstream verify its certificate against Node's CA store (with
 * NODE_EXTRA_CA_CERTS, read at start: test/e2e/https-upstream.test.ts trusts a private one that way). Here the SDK
 * client is given the certificate for its own fetch, so it holds a session the direct path cannot reach.
 */

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

it('a request to an https upstream whose certificate Node does not trust fails with ConnectionClosed, the TLS error as its cause, reported and never sent', async () => {
  const tls = selfSignedCertificate();
  const upstream = await startHttpUpstream({ tls });
  const trusting = new Agent({ connect: { ca: tls.cert } });
  cleanups.push(() => upstream.close(), () => trusting.close());
  const fetchTrusting = ((url, init) => undiciFetch(url, { ...init, dispatcher: trusting } as never)) as FetchLike;
  const transport = new StreamableHTTPClientTransport(new URL(upstream.url), { fetch: fetchTrusting });
  const client = new Client({ name: 'gateway', version: '1' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const errors: Error[] = [];
  transport.onerror = (error) => void errors.push(error);
  const direct = directRequests({ url: new URL(upstream.url), headers: {}, transport });
  cleanups.push(async () => direct.close());

  const hooks = { signal: new AbortController().signal, timeoutMs: 10_000, onServerRequest: async () => ({}) };
  for (let attempt = 0; attempt < 2; attempt++) {
    await assert.rejects(direct.request({ method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } }, hooks), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, ErrorCode.ConnectionClosed);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      return true;
    });
  }
  assert.deepEqual(
    errors.map((error) => (error as NodeJS.ErrnoException).code),
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  );
  assert.ok(!upstream.posted.some(({ body }) => (body as { method?: string }).method === 'tools/call'));
});
