import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageResultSchema, ElicitResultSchema, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { argumentsDigest, openRequestState, sealRequestState } from '../../../src/gateway/modern/input-required.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../../fixtures/upstreams/conformance-server.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../../helpers/app.js';
import { freshPostgresSchema } from '../../helpers/backends.js';
import { httpUpstreamConfig } from '../../helpers/config-files.js';
import { modernRequests } from '../../helpers/modern-requests.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * Two replicas of a fleet (two real apps over one PostgreSQL schema and one master key, as `gatehouse serve` replicas
 * behind a balancer without affinity) and a 2025-11-25 SDK upstream whose tool asks the client twice (sampling, then
 * elicitation), with progress in between. A 2026-07-28 client's call parks on the replica that answered it; its
 * retries land on the other one.
 */

const TOOL = 'up_interview';
const CAPABILITIES = { sampling: {}, elicitation: { form: {} } };
const SAMPLING: CreateMessageRequest = {
  method: 'sampling/createMessage',
  params: { messages: [{ role: 'user', content: { type: 'text', text: 'Name a colour' } }], maxTokens: 10 },
};

/** What the lingering tool went through: answered (resumed), then cancelled by the client. */
const lingering = { resumed: false, cancelled: false };

/**
 * An upstream whose `interview` tool samples, reports progress, elicits, and reports both answers, and whose `linger`
 * tool samples, then works until it is cancelled.
 */
function interviewServer(): McpServer {
  const server = new McpServer({ name: 'interviewer', version: '1.0.0' });
  server.registerTool('interview', { description: 'Asks the model, then the person' }, async (extra) => {
    const sampled = await extra.sendRequest(SAMPLING, CreateMessageResultSchema);
    const token = extra._meta?.progressToken;
    if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
    const elicited = await extra.sendRequest(
      { method: 'elicitation/create', params: { message: 'Do you like it?', requestedSchema: { type: 'object', properties: { liked: { type: 'boolean' } } } } },
      ElicitResultSchema,
    );
    const colour = sampled.content.type === 'text' ? sampled.content.text : '?';
    return { content: [{ type: 'text', text: `colour=${colour}, ${elicited.action}=${JSON.stringify(elicited.content ?? {})}` }] };
  });
  server.registerTool('linger', { description: 'Asks the model, then works until cancelled' }, async (extra) => {
    await extra.sendRequest(SAMPLING, CreateMessageResultSchema);
    lingering.resumed = true;
    await new Promise((resolve) => extra.signal.addEventListener('abort', resolve, { once: true }));
    lingering.cancelled = true;
    return { content: [] };
  });
  return server;
}

describe('a 2026-07-28 retry of a call parked on another replica of a PostgreSQL fleet', { timeout: 120_000 }, () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let upstream: ConformanceUpstream;
  let replicaA: TestApp;
  let replicaB: TestApp;
  let aClosed = false;
  let key: string;
  let keyId: string;
  let adminId: string;
  let config: ReturnType<typeof httpUpstreamConfig> | undefined;

  before(async () => {
    schema = await freshPostgresSchema();
    upstream = await startConformanceUpstream(interviewServer);
    config = httpUpstreamConfig(upstream.url);
    const env = { GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex') };
    const flags = { noDemo: true, config: config.file, databaseUrl: schema.url };
    // One after the other: the first migrates the schema and creates the admin, the second finds both.
    replicaA = await startTestApp({ listen: true, flags, env });
    replicaB = await startTestApp({ listen: true, flags, env });
    for (const replica of [replicaA, replicaB]) {
      await waitFor('the upstream connected', () => (replica.runtime.upstreams.all().every((item) => item.status().state === 'connected') ? true : undefined));
    }
    const created = await replicaA.app.inject({ method: 'POST', url: '/api/apikeys', headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) }, payload: { name: 'fleet' } });
    ({ key, id: keyId } = created.json() as { key: string; id: string });
    adminId = (await replicaA.runtime.users.find('admin'))!.id;
  });
  after(async () => {
    await replicaB?.close();
    if (!aClosed) await replicaA?.close();
    await upstream?.close();
    await schema?.drop();
    config?.remove();
  });

  /** A 2026-07-28 `tools/call` of the interview tool on `replica`: the messages of its answer, the last one the answer. */
  const call = async (replica: TestApp, params: Record<string, unknown> = {}, options: { meta?: Record<string, unknown>; signal?: AbortSignal } = {}) => {
    const { messages, body } = await modernRequests(`${replica.url}/mcp`, `Bearer ${key}`)('tools/call', { name: TOOL, arguments: {}, ...params }, CAPABILITIES, options);
    return { messages, answer: body };
  };

  /** The one question of an `input_required` answer, and the state to retry with. */
  const questionOf = (answer: Record<string, any>) => {
    assert.equal(answer.result?.resultType, 'input_required', JSON.stringify(answer));
    const [input, request] = Object.entries(answer.result.inputRequests as Record<string, { method: string; params: Record<string, unknown> }>)[0]!;
    return { input, request, requestState: answer.result.requestState as string };
  };

  const sampled = { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'teal' } };

  it('forwards each retry to the replica holding the call: its next question, its progress and its result come back through the other replica', async () => {
    const first = questionOf((await call(replicaA, {}, { meta: { progressToken: 'p-1' } })).answer);
    assert.equal(first.request.method, 'sampling/createMessage');

    const second = await call(replicaB, { requestState: first.requestState, inputResponses: { [first.input]: sampled } });
    const progress = second.messages.find((message) => message.method === 'notifications/progress');
    assert.deepEqual(progress?.params, { progressToken: 'p-1', progress: 1, total: 2 }, 'the holder’s progress reaches the retry on the other replica');
    const asked = questionOf(second.answer);
    assert.deepEqual([asked.request.method, asked.request.params.message], ['elicitation/create', 'Do you like it?']);

    const done = (await call(replicaB, { requestState: asked.requestState, inputResponses: { [asked.input]: { action: 'accept', content: { liked: true } } } })).answer;
    assert.equal(done.result?.resultType, 'complete', JSON.stringify(done));
    assert.equal(done.result.content[0].text, 'colour=teal, accept={"liked":true}');

    const again = (await call(replicaB, { requestState: asked.requestState, inputResponses: { [asked.input]: { action: 'accept', content: { liked: true } } } })).answer;
    assert.equal(again.error?.code, -32602, 'a call that ended cannot be continued from any replica');
  });

  it('refuses a tampered state, one sealed for another user or under another key, and a retry with other arguments, without disturbing the parked call', async () => {
    const first = questionOf((await call(replicaA)).answer);
    const caller = { endpoint: '/mcp', credential: `api_key ${keyId}` };
    const context = { key: replicaA.runtime.keys.encryptionKey, userId: adminId, ...caller, method: 'tools/call', name: TOOL, args: argumentsDigest({}) };
    const { run, key: input, replica } = openRequestState(context, first.requestState);
    assert.ok(run && input && replica, 'the state names the parked call, its question and the replica holding it');
    const step = { run, key: input, replica };
    const forged = [
      first.requestState.slice(0, -4) + (first.requestState.endsWith('AAAA') ? 'BBBB' : 'AAAA'),
      sealRequestState({ ...context, userId: 'usr_someone_else' }, step),
      sealRequestState({ ...context, key: randomBytes(32) }, step),
    ];
    for (const requestState of forged) {
      const refused = (await call(replicaB, { requestState, inputResponses: { [first.input]: sampled } })).answer;
      assert.equal(refused.error?.code, -32602, JSON.stringify(refused));
    }
    const otherArguments = (await call(replicaB, { arguments: { colour: 'red' }, requestState: first.requestState, inputResponses: { [first.input]: sampled } })).answer;
    assert.equal(otherArguments.error?.code, -32602, 'the state is bound to the arguments the call started with');
    const continued = questionOf((await call(replicaB, { requestState: first.requestState, inputResponses: { [first.input]: sampled } })).answer);
    assert.equal(continued.request.method, 'elicitation/create', 'the genuine retry still continues the call');
  });

  it('cancels the call on the holder when the client closes its retry on the other replica', async () => {
    const first = questionOf((await call(replicaA, { name: 'up_linger' })).answer);
    const closing = new AbortController();
    const retry = call(replicaB, { name: 'up_linger', requestState: first.requestState, inputResponses: { [first.input]: sampled } }, { signal: closing.signal });
    await waitFor('the call resumed on the holder', () => (lingering.resumed ? true : undefined));
    closing.abort();
    await assert.rejects(retry, { name: 'AbortError' });
    await waitFor('the upstream call cancelled', () => (lingering.cancelled ? true : undefined));
  });

  it('answers a retry whose holder is gone with an error result that says to call the tool again', async () => {
    const first = questionOf((await call(replicaA)).answer);
    // The holder stops hearing the fleet and its parked call goes with it, as a killed process's would.
    aClosed = true;
    await replicaA.close();
    const answer = (await call(replicaB, { requestState: first.requestState, inputResponses: { [first.input]: sampled } })).answer;
    assert.equal(answer.result?.isError, true, JSON.stringify(answer));
    assert.match(answer.result.content[0].text, /call the tool again/i);
  });
});
