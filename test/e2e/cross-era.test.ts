import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { gatewayRoutes } from '../../src/gateway/mcp-routes.js';
import { BROWSER_INPUT } from '../../src/gateway/modern/input-required.js';
import type { Runtime } from '../../src/runtime.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';
import { startStatelessUpstream, type StatelessUpstream } from '../fixtures/upstreams/stateless-server.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { MODERN_VERSION, modernRequests } from '../helpers/modern-requests.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The two eras meeting in one gateway: a 2026-07-28 client (plain HTTP, per-request `_meta`, no session) reaching a
 * 2025 upstream (the SDK's server, with a session), and a 2025 client (the SDK's Client) reaching a 2026-07-28
 * upstream (test/fixtures/upstreams/stateless-server.ts), each with progress, cancellation, a sampling round-trip
 * and the per-user "connect your account" step. The 2025 client's progress, cancellation and sampling towards a
 * 2026-07-28 upstream are in stateless-upstream.test.ts; here is what that file lacks.
 * The connect link's OAuth flow is outbound-oauth.test.ts's: here starting a flow gives a fixed id, and a user
 * connects by getting tokens in the vault, as the flow's callback leaves them.
 */

const FLOW_ID = 'flow_cross_era';
const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

/** A 2025 upstream: `slow` (progress; records its start and its cancellation), `sample` (asks the client to sample), `whoami`. */
function legacyServer(started: string[], cancelled: string[]) {
  const server = new McpServer({ name: 'legacy', version: '1.0.0' });
  server.registerTool('slow', { inputSchema: { ms: z.number(), steps: z.number(), label: z.string() } }, async ({ ms, steps, label }, extra) => {
    started.push(label);
    for (let step = 1; step <= steps; step++) {
      const aborted = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ms / steps);
        extra.signal.addEventListener('abort', () => (clearTimeout(timer), resolve(true)), { once: true });
      });
      if (aborted) return void cancelled.push(label) as never;
      const token = extra._meta?.progressToken;
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: step, total: steps } });
    }
    return { content: [{ type: 'text', text: `${label} done` }] };
  });
  server.registerTool('sample', { inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const answer = await extra.sendRequest({ method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 20 } }, CreateMessageResultSchema);
    return { content: [{ type: 'text', text: `LLM said: ${answer.content.type === 'text' ? answer.content.text : ''}` }] };
  });
  server.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: 'a legacy account' }] }));
  return server;
}

describe('clients and upstreams of both MCP eras through one gateway', { timeout: 60_000 }, () => {
  const files = tempDir('gatehouse-cross-era-');
  const started: string[] = [];
  const cancelled: string[] = [];
  let legacy: ConformanceUpstream;
  let modern: StatelessUpstream;
  let t: TestApp;
  let gw: FastifyInstance;
  let url: string;
  let annId: string;
  /** Ann's bearer header value (an API key). */
  let bearer: string;
  /** A 2026-07-28 request as Ann's client sends it. */
  let modernCall: ReturnType<typeof modernRequests>;

  const upstreamNamed = (name: string) => t.runtime.upstreams.all().find((upstream) => upstream.settings.name === name)!;
  /** Ann connects her own account at `name` (what the connect link's flow ends with). */
  const connect = (name: string) => t.runtime.outbound.vault.save(upstreamNamed(name).id, annId, 'https://as.example', { accessToken: `ann-at-${name}`, tokenType: 'Bearer' });

  before(async () => {
    legacy = await startConformanceUpstream(() => legacyServer(started, cancelled));
    modern = await startStatelessUpstream();
    const config = path.join(files.dir, 'gatehouse.json');
    writeFileSync(config, JSON.stringify({
      upstreams: [
        { name: 'old', connection_type: 'http', connection_string: legacy.url },
        { name: 'new', connection_type: 'http', connection_string: modern.url },
        { name: 'oldmine', connection_type: 'http', connection_string: legacy.url, auth_type: 'per_user_oauth' },
        { name: 'newmine', connection_type: 'http', connection_string: modern.url, auth_type: 'per_user_oauth' },
      ],
    }));
    t = await startTestApp({ flags: { config, noDemo: true } });
    // Someone else connected the per-user upstreams already, so their tools are listed.
    const lister = await t.runtime.users.create({ username: 'lister', password: 'lister-Password-1' });
    for (const name of ['oldmine', 'newmine']) {
      await t.runtime.outbound.vault.save(upstreamNamed(name).id, lister.id, 'https://as.example', { accessToken: 'lister-at', tokenType: 'Bearer' });
      await t.runtime.upstreams.reconnect(upstreamNamed(name).id);
    }
    await waitFor('every upstream connected', () => (t.runtime.upstreams.all().every((upstream) => upstream.status().state === 'connected') ? true : undefined));
    const ann = await t.runtime.users.create({ username: 'ann', password: 'ann-Password-1' });
    annId = ann.id;
    bearer = `Bearer ${(await t.runtime.apiKeys.create({ user: ann, name: 'cross-era' })).token}`;
    const runtime: Runtime = { ...t.runtime, outbound: { ...t.runtime.outbound, startFlow: async () => ({ flowId: FLOW_ID }) as Awaited<ReturnType<Runtime['outbound']['startFlow']>> } };
    gw = Fastify();
    await gw.register(gatewayRoutes, { deps: runtime });
    await gw.listen({ host: '127.0.0.1', port: 0 });
    const address = gw.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
    modernCall = modernRequests(url, bearer);
  });
  after(async () => {
    await gw?.close();
    await t?.close();
    await legacy?.close();
    await modern?.close();
    files.remove();
  });

  describe('a 2026-07-28 client reaching a 2025 upstream', () => {
    it('gets the upstream’s progress under its own token before the result', async () => {
      const { messages } = await modernCall('tools/call', { name: 'old_slow', arguments: { ms: 60, steps: 3, label: 'progress' } }, {}, { meta: { progressToken: 'mine' } });
      const progress = messages.filter((message) => message.method === 'notifications/progress');
      assert.deepEqual(progress.map((message) => [message.params.progressToken, message.params.progress]), [['mine', 1], ['mine', 2], ['mine', 3]]);
      const last = messages.at(-1)!;
      assert.deepEqual([last.result?.resultType, textOf(last.result)], ['complete', 'progress done']);
    });

    it('cancels the upstream call (notifications/cancelled in its session) by closing its response', async () => {
      const controller = new AbortController();
      const call = modernCall('tools/call', { name: 'old_slow', arguments: { ms: 20_000, steps: 2, label: 'cancel-me' } }, {}, { signal: controller.signal });
      await waitFor('the upstream call started', () => (started.includes('cancel-me') ? true : undefined));
      controller.abort();
      await assert.rejects(call);
      await waitFor('the upstream call cancelled', () => (cancelled.includes('cancel-me') ? true : undefined));
    });

    it('answers the upstream’s sampling request through an input_required round-trip', async () => {
      const call = { name: 'old_sample', arguments: { prompt: 'Capital of France?' } };
      const { body: asked } = await modernCall('tools/call', call, { sampling: {} });
      assert.equal(asked.result?.resultType, 'input_required', JSON.stringify(asked));
      const [input, request] = Object.entries(asked.result.inputRequests as Record<string, { method: string; params: { messages: Array<{ content: { text: string } }> } }>)[0]!;
      assert.deepEqual([request.method, request.params.messages[0]!.content.text], ['sampling/createMessage', 'Capital of France?']);
      const answer = { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'Paris' } };
      const { body: done } = await modernCall('tools/call', { ...call, requestState: asked.result.requestState, inputResponses: { [input]: answer } }, { sampling: {} });
      assert.deepEqual([done.result?.resultType, textOf(done.result)], ['complete', 'LLM said: Paris']);
    });

    it('is asked to connect its account (input_required) and, once connected, the retry reaches the upstream', async () => {
      const call = { name: 'oldmine_whoami', arguments: {} };
      const capabilities = { elicitation: { url: {} } };
      const { body: asked } = await modernCall('tools/call', call, capabilities);
      assert.equal(asked.result?.resultType, 'input_required', JSON.stringify(asked));
      assert.match(asked.result.inputRequests[BROWSER_INPUT].params.url, new RegExp(`/connect/${FLOW_ID}$`));
      await connect('oldmine');
      const { body: done } = await modernCall('tools/call', { ...call, requestState: asked.result.requestState, inputResponses: { [BROWSER_INPUT]: { action: 'accept' } } }, capabilities);
      assert.deepEqual([done.result?.resultType, textOf(done.result)], ['complete', 'a legacy account']);
    });
  });

  describe('a 2025 client reaching a 2026-07-28 upstream', () => {
    it('is given the connect link and, once connected, its call reaches the upstream statelessly', async () => {
      const client = new Client({ name: 'sdk-1x-client', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: bearer } } }));
      try {
        const asked = await client.callTool({ name: 'newmine_echo', arguments: { text: 'hello' } });
        assert.equal(asked.isError, true);
        assert.match(textOf(asked), new RegExp(`/connect/${FLOW_ID} in your browser`));
        await connect('newmine');
        // A per-user upstream's log messages go to nobody, so none are asked for, whatever level the client set.
        await client.setLoggingLevel('debug');
        const before = modern.requests.length;
        assert.equal(textOf(await client.callTool({ name: 'newmine_echo', arguments: { text: 'hello' } })), 'hello');
        const sent = modern.requests.slice(before).find((request) => request.body.method === 'tools/call')!;
        assert.deepEqual([sent.headers['mcp-protocol-version'], sent.headers.authorization], [MODERN_VERSION, 'Bearer ann-at-newmine']);
        assert.equal((sent.body.params!._meta as Record<string, unknown>)['io.modelcontextprotocol/logLevel'], undefined);
      } finally {
        await client.close();
      }
    });
  });
});
