import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { callApprovals } from '../../../src/gateway/call-approvals.js';
import { BROWSER_INPUT } from '../../../src/gateway/modern/input-required.js';
import { inputRequiredConformance } from '../../fixtures/upstreams/input-required-tools.js';
import { startStatelessUpstream, type StatelessUpstream } from '../../fixtures/upstreams/stateless-server.js';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../../helpers/app.js';
import { tempDir } from '../../helpers/backends.js';
import { modernRequests, type ModernAnswer } from '../../helpers/modern-requests.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * A 2026-07-28 upstream whose tools answer `input_required` (test/fixtures/upstreams/input-required-tools.ts), behind a
 * real Gatehouse, reached by a 2026-07-28 client (plain HTTP) and by a 2025 client (the SDK 1.x). The 2026-07-28
 * client gets the upstream's input requests under the upstream's own keys, with Gatehouse's sealed `requestState`
 * holding the upstream's; the 2025 client gets them as relayed requests on its call's stream.
 */

const ELICITATION = { elicitation: { form: {} } };
const EVERYTHING = { elicitation: { form: {} }, sampling: {}, roots: {} };
const confirmed = { action: 'accept', content: { ok: true } };

describe('a 2026-07-28 upstream that asks the client for input, through the gateway', { timeout: 60_000 }, () => {
  const files = tempDir('gatehouse-upstream-input-');
  let upstream: StatelessUpstream;
  let gatehouse: TestApp;
  let key: string;
  let modern: ReturnType<typeof modernRequests>;

  /** The calls of `tool` (its upstream name) that reached the upstream, oldest first. */
  const callsOf = (tool: string) => upstream.requests.filter((request) => request.body.method === 'tools/call' && request.body.params?.name === tool).map((request) => request.body.params!);
  const call = (tool: string, params: Record<string, unknown> = {}, capabilities: Record<string, unknown> = EVERYTHING) =>
    modern('tools/call', { name: `up_${tool}`, arguments: {}, ...params }, capabilities);
  const resultOf = (answer: ModernAnswer) => {
    assert.ok(answer.body.result, JSON.stringify(answer.body));
    return answer.body.result;
  };

  before(async () => {
    upstream = await startStatelessUpstream(inputRequiredConformance);
    const configFile = path.join(files.dir, 'gatehouse.json');
    // `held` is the same upstream again, every call of which needs its caller's approval.
    const upstreams = [
      { name: 'up', connection_type: 'http', connection_string: upstream.url },
      { name: 'held', connection_type: 'http', connection_string: upstream.url, require_approval: 'always' },
    ];
    writeFileSync(configFile, JSON.stringify({ upstreams }));
    gatehouse = await startTestApp({ listen: true, flags: { noDemo: true, config: configFile } });
    const states = () => gatehouse.runtime.upstreams.all().map((item) => item.status().state);
    await waitFor('the upstreams to connect', () => (states().length === 2 && states().every((state) => state === 'connected') ? true : undefined));
    const created = await gatehouse.app.inject({ method: 'POST', url: '/api/apikeys', headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) }, payload: { name: 'modern' } });
    key = (created.json() as { key: string }).key;
    modern = modernRequests(`${gatehouse.url}/mcp`, `Bearer ${key}`);
  });
  after(async () => {
    await gatehouse?.close();
    await upstream?.close();
    files.remove();
  });

  it('passes the upstream’s input requests on under its own keys, and its requestState back to it unchanged, sealed inside Gatehouse’s', async () => {
    const asked = resultOf(await call('test_input_required_result_request_state'));
    assert.equal(asked.resultType, 'input_required');
    assert.deepEqual(Object.keys(asked.inputRequests), ['confirm']);
    assert.equal(asked.inputRequests.confirm.method, 'elicitation/create');
    assert.ok(!String(asked.requestState).includes('test_input_required_result_request_state'), 'the client cannot read the upstream’s state');

    const done = resultOf(await call('test_input_required_result_request_state', { requestState: asked.requestState, inputResponses: { confirm: confirmed } }));
    assert.equal(done.resultType, 'complete');
    assert.equal(done.content[0].text, 'state-ok: confirmed');
    const [first, retry] = callsOf('test_input_required_result_request_state');
    assert.equal(first!.requestState, undefined);
    assert.deepEqual(retry!.inputResponses, { confirm: confirmed });
    assert.match(String(retry!.requestState), /^test_input_required_result_request_state:/, 'the upstream gets its own state back');
    assert.deepEqual((retry!._meta as Record<string, unknown>)['io.modelcontextprotocol/clientCapabilities'], EVERYTHING);
  });

  it('takes a multi-round call through every round, each with a state of its own', async () => {
    const round1 = resultOf(await call('test_input_required_result_multi_round'));
    assert.deepEqual(Object.keys(round1.inputRequests), ['step1']);
    const round2 = resultOf(await call('test_input_required_result_multi_round', { requestState: round1.requestState, inputResponses: { step1: { action: 'accept', content: { name: 'Ann' } } } }));
    assert.deepEqual([round2.resultType, Object.keys(round2.inputRequests)], ['input_required', ['step2']]);
    assert.notEqual(round2.requestState, round1.requestState);
    const done = resultOf(await call('test_input_required_result_multi_round', { requestState: round2.requestState, inputResponses: { step2: { action: 'accept', content: { color: 'green' } } } }));
    assert.equal(done.content[0].text, 'Ann likes green');
  });

  it('refuses a changed Gatehouse state, or one of another tool, with -32602 before the upstream hears of the retry', async () => {
    const asked = resultOf(await call('test_input_required_result_tampered_state'));
    const before = upstream.requests.length;
    const tampered = await call('test_input_required_result_tampered_state', { requestState: `${asked.requestState}-TAMPERED`, inputResponses: { confirm: confirmed } });
    assert.equal(tampered.body.error?.code, -32602, JSON.stringify(tampered.body));
    const elsewhere = await call('test_input_required_result_request_state', { requestState: asked.requestState, inputResponses: { confirm: confirmed } });
    assert.equal(elsewhere.body.error?.code, -32602, JSON.stringify(elsewhere.body));
    assert.match(elsewhere.body.error.message, /another request/);
    assert.equal(upstream.requests.length, before);
  });

  it('refuses inputResponses that are not a map of answer objects with -32602', async () => {
    for (const inputResponses of [null, { user_name: 12345 }, ['user_name']]) {
      const refused = await call('test_input_required_result_elicitation', { inputResponses });
      assert.equal(refused.body.error?.code, -32602, JSON.stringify(refused.body));
    }
  });

  it('tells the upstream what the client can answer, and ends a call asking beyond it with 400 and -32021', async () => {
    const asked = resultOf(await call('test_input_required_result_capabilities', {}, { sampling: {} }));
    assert.deepEqual(Object.keys(asked.inputRequests), ['summary']);
    const refused = await call('test_input_required_result_list_roots', {}, ELICITATION);
    assert.equal(refused.status, 400);
    assert.deepEqual([refused.body.error?.code, refused.body.error?.data?.requiredCapabilities], [-32021, { roots: {} }]);
  });

  it('passes input_required on for prompts/get as for tools/call', async () => {
    const listed = resultOf(await modern('prompts/list', {}));
    const name = (listed.prompts as Array<{ name: string }>).map((prompt) => prompt.name).find((prompt) => prompt.endsWith('test_input_required_result_prompt'))!;
    const asked = resultOf(await modern('prompts/get', { name }, ELICITATION));
    assert.deepEqual(Object.keys(asked.inputRequests), ['user_context']);
    const done = resultOf(await modern('prompts/get', { name, requestState: asked.requestState, inputResponses: { user_context: { action: 'accept', content: { context: 'tests' } } } }, ELICITATION));
    assert.equal(done.messages[0].content.text, 'Context: tests');
  });

  it('asks for a held call’s approval once: the upstream’s later rounds continue the approved call, each state once, for the same arguments only', async () => {
    const capabilities = { elicitation: { form: {}, url: {} } };
    const held = (params: Record<string, unknown> = {}) => modern('tools/call', { name: 'held_test_input_required_result_multi_round', arguments: {}, ...params }, capabilities);
    const approval = resultOf(await held());
    const { elicitationId } = approval.inputRequests[BROWSER_INPUT].params;
    const approvals = callApprovals({ store: gatehouse.runtime.store.callApprovals, audit: gatehouse.runtime.audit, hasher: gatehouse.runtime.keys.tokenHasher, config: gatehouse.runtime.config });
    const admin = await gatehouse.runtime.users.find('admin');
    assert.equal(await approvals.decide(elicitationId, admin!.id, true, null), 'approved');

    const round1 = resultOf(await held({ requestState: approval.requestState, inputResponses: { [BROWSER_INPUT]: { action: 'accept' } } }));
    assert.deepEqual(Object.keys(round1.inputRequests), ['step1']);
    const step1 = { step1: { action: 'accept', content: { name: 'Ann' } } };
    const changed = await held({ arguments: { other: true }, requestState: round1.requestState, inputResponses: step1 });
    assert.equal(changed.body.error?.code, -32602, JSON.stringify(changed.body));
    const round2 = resultOf(await held({ requestState: round1.requestState, inputResponses: step1 }));
    assert.deepEqual(Object.keys(round2.inputRequests), ['step2'], 'no second approval');
    // A state continues the approved call once: sent again, it is a new call, held for a new approval.
    const replayed = resultOf(await held({ requestState: round1.requestState, inputResponses: step1 }));
    assert.deepEqual(Object.keys(replayed.inputRequests), [BROWSER_INPUT], 'a replayed state asks for approval again');
    const done = resultOf(await held({ requestState: round2.requestState, inputResponses: { step2: { action: 'accept', content: { color: 'red' } } } }));
    assert.equal(done.content[0].text, 'Ann likes red');
  });

  it('relays the upstream’s input requests to a 2025 client as requests on its call’s stream, and refuses what the gateway cannot relay', async () => {
    const elicited: ElicitRequest[] = [];
    const client = new Client({ name: 'sdk-1x-client', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicited.push(request);
      return { action: 'accept', content: { name: 'Ann' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    try {
      const greeted = (await client.callTool({ name: 'up_test_input_required_result_elicitation', arguments: {} })) as CallToolResult;
      assert.deepEqual(elicited.map((request) => request.params.message), ['What is your name?']);
      assert.deepEqual(greeted.content, [{ type: 'text', text: 'Hello, Ann!' }]);
      const [, retry] = callsOf('test_input_required_result_elicitation').slice(-2);
      assert.deepEqual(retry!.inputResponses, { user_name: { action: 'accept', content: { name: 'Ann' } } });
      // Gatehouse declares no roots to upstreams on a 2025 client's behalf: an upstream asking anyway gets nothing relayed.
      await assert.rejects(client.callTool({ name: 'up_test_input_required_result_list_roots', arguments: {} }), /-32600: the upstream asked for input Gatehouse did not offer \(roots\/list\)/);
    } finally {
      await client.close();
    }
  });
});
