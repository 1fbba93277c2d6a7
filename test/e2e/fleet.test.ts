import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageRequestSchema, CreateMessageResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { basicAuth, freePort } from '../helpers/app.js';
import { freshPostgresSchema } from '../helpers/backends.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { eventually, mcpAt, roundRobinBalancer } from '../helpers/fleet.js';
import { connectWithToken, obtainAccessToken } from '../helpers/mcp-session.js';
import { modernRequests } from '../helpers/modern-requests.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';

/**
 * A fleet as users run it: three `gatehouse serve` processes on one PostgreSQL schema with one master key, behind a
 * round-robin balancer without session affinity, driven by the MCP SDK client. Bounds are functional (a change
 * must arrive), generous for a shared machine; the design aims at well under a second.
 */

const ADMIN = { username: 'admin', password: CHILD_ADMIN_PASSWORD };

/** An upstream whose tool asks the client to sample (sampling/createMessage) and answers with what it got. */
function samplingUpstream(): McpServer {
  const server = new McpServer({ name: 'sampler', version: '1.0.0' });
  server.registerTool('ask_llm', { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const params = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt } }], maxTokens: 50 };
    const answer = await extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema, { timeout: 5_000 });
    return { content: [{ type: 'text' as const, text: `LLM response: ${answer.content.type === 'text' ? answer.content.text : answer.content.type}` }] };
  });
  return server;
}

const listStatus = async (response: Response) => {
  await response.body?.cancel();
  return response.status;
};

describe('a fleet of three gatehouse serve replicas behind a balancer without affinity', { timeout: 180_000 }, () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let replicaA: GatehouseChild;
  let replicaB: GatehouseChild;
  let replicaC: GatehouseChild;
  let balancer: Awaited<ReturnType<typeof roundRobinBalancer>>;
  let publicUrl: string;
  let upstream: HttpUpstream;
  let sampler: ConformanceUpstream;
  let token: string;
  const dead = new Set<string>();
  const clients: Client[] = [];

  before(async () => {
    schema = await freshPostgresSchema();
    upstream = await startHttpUpstream({ name: 'fleet-upstream' });
    sampler = await startConformanceUpstream(samplingUpstream);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    const env = { GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex'), GATEHOUSE_DATABASE_URL: schema.url };
    const args = ['--public-url', publicUrl, '--allow-private-networks'];
    // One after the other: the first start migrates the schema and creates the admin, the second finds both.
    replicaA = await startGatehouseChild(args, env);
    replicaB = await startGatehouseChild(args, env);
    replicaC = await startGatehouseChild(args, env);
    balancer = await roundRobinBalancer(port, () => [replicaA.url, replicaB.url, replicaC.url].filter((url) => !dead.has(url)));
    token = (await obtainAccessToken(publicUrl, ADMIN)).access_token;
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    balancer?.server.closeAllConnections();
    balancer?.server.close();
    await replicaC?.stop();
    await replicaB?.stop().catch(() => undefined);
    await replicaA?.stop().catch(() => undefined);
    await upstream?.close();
    await sampler?.close();
    await schema?.drop();
  });

  const connect = async () => {
    const connected = await connectWithToken(`${publicUrl}/mcp`, token);
    clients.push(connected.client);
    return connected;
  };

  it('one session is initialized, listed and called with its requests landing on every replica', async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId;
    const servedBefore = balancer.servedBy.length;
    const echo = (await client.listTools()).tools.find((tool) => tool.name.endsWith('echo'));
    assert.ok(echo, 'the demo echo tool is listed');
    for (let i = 0; i < 6; i++) {
      const result = await client.callTool({ name: echo.name, arguments: { text: `call ${i}` } });
      assert.deepEqual(result.content, [{ type: 'text', text: `call ${i}` }]);
    }
    assert.equal(transport.sessionId, sessionId, 'the same session throughout');
    const served = new Set(balancer.servedBy.slice(servedBefore));
    assert.deepEqual([...served].sort(), [replicaA.url, replicaB.url, replicaC.url].sort(), 'every replica served the session');
  });

  it('a session ended (DELETE) through one replica is gone on the others, which held it too', async () => {
    const { transport } = await connect();
    const [atA, atB, atC] = [replicaA, replicaB, replicaC].map((replica) => mcpAt(replica, token, transport)) as [ReturnType<typeof mcpAt>, ReturnType<typeof mcpAt>, ReturnType<typeof mcpAt>];
    const list = { jsonrpc: '2.0', id: 7, method: 'tools/list' };
    for (const at of [atA, atB, atC]) assert.equal(await listStatus(await at.post(list)), 200, 'every replica holds the session in memory now');
    assert.equal(await listStatus(await atA.delete()), 200);
    for (const [name, at] of [['B', atB], ['C', atC]] as const) {
      await eventually(`${name} to drop the session`, async () => ((await listStatus(await at.post(list))) === 404 ? true : undefined));
    }
    assert.equal(await listStatus(await atA.post(list)), 404);
  });

  it('another user’s token cannot use the session on a replica that does not hold it', async () => {
    const { transport } = await connect();
    const other = await fetch(`${publicUrl}/api/users`, {
      method: 'POST',
      headers: { authorization: basicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'mallory', password: 'mallory-Pw-12345' }),
    });
    assert.equal(other.status, 201, await other.text());
    const otherToken = (await obtainAccessToken(publicUrl, { username: 'mallory', password: 'mallory-Pw-12345' })).access_token;
    for (const replica of [replicaA, replicaB, replicaC]) {
      const response = await mcpAt(replica, otherToken, transport).post({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      assert.equal(await listStatus(response), 404, 'answered like an unknown session');
    }
  });

  it('an upstream added through replica A is in another’s tools/list, and a stream held there hears tools/list_changed', async () => {
    const { transport } = await connect();
    // B, or C when the client's own stream went to B.
    let atB = mcpAt(replicaB, token, transport);
    let stream = await atB.stream();
    if (!stream) {
      atB = mcpAt(replicaC, token, transport);
      stream = await atB.stream();
    }
    assert.ok(stream, 'a stream opens at B or C');
    try {
      const listChanged = () => stream.messages.some((m) => m.method === 'notifications/tools/list_changed');
      assert.equal(listChanged(), false);
      const addedAt = Date.now();
      const created = await fetch(`${replicaA.url}/api/mcp/client`, {
        method: 'POST',
        headers: { authorization: basicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'added', connection_type: 'http', connection_string: upstream.url }),
      });
      assert.equal(created.status, 201, await created.text());
      await eventually('tools/list_changed on the stream at B', () => (listChanged() ? true : undefined));
      const heardAfter = Date.now() - addedAt;
      await eventually('the new upstream’s tools in B’s tools/list', async () => {
        const response = await atB.post({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        const text = await response.text();
        return text.includes('added_echo') ? true : undefined;
      });
      console.log(`# the stream at B heard tools/list_changed ${heardAfter} ms after the request adding the upstream through A was sent`);
    } finally {
      stream.close();
    }
  });

  it('a sampling request reaches the client, and its answer reaches the waiting call whichever replica it lands on', async () => {
    const added = await fetch(`${replicaA.url}/api/mcp/client`, {
      method: 'POST',
      headers: { authorization: basicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sampler', connection_type: 'http', connection_string: sampler.url, timeout_ms: 10_000 }),
    });
    assert.equal(added.status, 201, await added.text());
    const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'sampling-client', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const prompt = request.params.messages[0]?.content;
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: `echo of ${prompt && 'text' in prompt ? prompt.text : '?'}` } };
    });
    await client.connect(transport);
    clients.push(client);
    await eventually('the sampler on both replicas', async () => {
      const listed = await Promise.all([replicaA, replicaB, replicaC].map(async (replica) => (await mcpAt(replica, token, transport).post({ jsonrpc: '2.0', id: 9, method: 'tools/list' })).text()));
      return listed.every((text) => text.includes('sampler_ask_llm')) ? true : undefined;
    });
    const postsBefore = balancer.posts.length;
    for (let i = 0; i < 4; i++) {
      const result = await client.callTool({ name: 'sampler_ask_llm', arguments: { prompt: `question ${i}` } });
      assert.deepEqual(result.content, [{ type: 'text', text: `LLM response: echo of question ${i}` }]);
    }
    // Each call's POST and the POST carrying the client's answer to it, with the replica that took each.
    const posts = balancer.posts.slice(postsBefore);
    const crossed = posts.filter(({ body }) => body.includes('"tools/call"')).some((call) => {
      const answer = posts[posts.indexOf(call) + 1];
      return answer !== undefined && answer.body.includes('"result"') && answer.target !== call.target;
    });
    assert.ok(crossed, 'at least one answer landed on the other replica than its call');
  });

  /** A 2026-07-28 `tools/call` of the sampler at `url` (the balancer or one replica), and its retry with an LLM's `answer`. */
  const modernSampling = (url: string) => {
    const send = modernRequests(`${url}/mcp`, `Bearer ${token}`);
    const call = { name: 'sampler_ask_llm', arguments: { prompt: 'modern' } };
    return {
      ask: async () => {
        const { body } = await send('tools/call', call, { sampling: {} });
        assert.equal(body.result?.resultType, 'input_required', JSON.stringify(body));
        return { input: Object.keys(body.result.inputRequests)[0]!, requestState: body.result.requestState as string };
      },
      retry: async ({ input, requestState }: { input: string; requestState: string }, answer: string) =>
        (await send('tools/call', { ...call, requestState, inputResponses: { [input]: { role: 'assistant', model: 'test-model', content: { type: 'text', text: answer } } } }, { sampling: {} })).body,
    };
  };

  it('a 2026-07-28 client’s retry reaches the call parked on another replica (an upstream’s sampling as input_required)', async () => {
    const sampling = modernSampling(publicUrl);
    const postsBefore = balancer.posts.length;
    for (let i = 0; i < 3; i++) {
      const done = await sampling.retry(await sampling.ask(), `answer ${i}`);
      assert.deepEqual(done.result?.content, [{ type: 'text', text: `LLM response: answer ${i}` }], JSON.stringify(done));
    }
    const posts = balancer.posts.slice(postsBefore);
    assert.ok(
      posts.some((post, i) => i % 2 === 1 && post.target !== posts[i - 1]!.target),
      'a retry landed on another replica than its call',
    );
  });

  it('a replica killed (SIGKILL) mid-session: the session goes on through the others', async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId;
    const echo = (await client.listTools()).tools.find((tool) => tool.name.endsWith('echo'))!;
    replicaA.serving.child.kill('SIGKILL');
    await replicaA.serving.exited;
    dead.add(replicaA.url);
    for (let i = 0; i < 4; i++) {
      const result = await client.callTool({ name: echo.name, arguments: { text: `after ${i}` } });
      assert.deepEqual(result.content, [{ type: 'text', text: `after ${i}` }]);
    }
    assert.equal(transport.sessionId, sessionId);
  });

  it('a 2026-07-28 retry whose call was parked on a replica killed since (SIGKILL) gets an error result telling it to call the tool again', async () => {
    const asked = await modernSampling(replicaB.url).ask();
    replicaB.serving.child.kill('SIGKILL');
    await replicaB.serving.exited;
    dead.add(replicaB.url);
    const answer = await modernSampling(replicaC.url).retry(asked, 'too late');
    assert.equal(answer.result?.isError, true, JSON.stringify(answer));
    assert.match(answer.result.content[0].text, /call the tool again/i);
  });
});
