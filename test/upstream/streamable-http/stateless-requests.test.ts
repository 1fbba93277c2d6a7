import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import type { DirectRequestHooks, DirectRequests } from '../../../src/upstream/streamable-http/direct-requests.js';
import { requestStateless, UpstreamInputRequired } from '../../../src/upstream/streamable-http/stateless-requests.js';

type Sent = { method: string; params?: Record<string, unknown>; capabilities: unknown };

/** A direct path that answers with `answers` in turn and records what it was sent. */
function scriptedDirect(answers: Result[]): DirectRequests & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    request: async (message, hooks: DirectRequestHooks) => {
      sent.push({ ...message, capabilities: hooks.clientCapabilities });
      return answers.shift() ?? { resultType: 'complete' };
    },
    speakStateless: () => undefined,
    protocolVersion: () => '2026-07-28',
    close: () => undefined,
  };
}

const options = () => ({ signal: new AbortController().signal, timeoutMs: 1000 });
const elicit = { method: 'elicitation/create', params: { message: 'Sure?', requestedSchema: { type: 'object', properties: {} } } };

describe('requests to a stateless upstream', () => {
  it('declare sampling and elicitation only when someone can answer them', async () => {
    const direct = scriptedDirect([]);
    await requestStateless(direct, { method: 'tools/list', params: {} }, options());
    await requestStateless(direct, { method: 'tools/call', params: { name: 't' } }, { ...options(), onServerRequest: async () => ({}) });
    assert.deepEqual(direct.sent.map((sent) => sent.capabilities), [{}, { sampling: {}, elicitation: { form: {}, url: {} } }]);
  });

  it('retry without requestState when the upstream gave none, and with the original parameters and the answers', async () => {
    const direct = scriptedDirect([{ resultType: 'input_required', inputRequests: { ok: elicit } }, { resultType: 'complete', content: [] }]);
    const asked: string[] = [];
    const result = await requestStateless(direct, { method: 'tools/call', params: { name: 't', arguments: { a: 1 } } }, {
      ...options(),
      onServerRequest: async (request) => (asked.push(request.method), { action: 'accept', content: {} }),
    });
    assert.deepEqual(result, { resultType: 'complete', content: [] });
    assert.deepEqual(asked, ['elicitation/create']);
    assert.deepEqual(direct.sent[1]!.params, { name: 't', arguments: { a: 1 }, inputResponses: { ok: { action: 'accept', content: {} } } });
  });

  it('fail when input is asked for and nobody can answer, or input Gatehouse did not offer (roots)', async () => {
    await assert.rejects(requestStateless(scriptedDirect([{ resultType: 'input_required', inputRequests: { ok: elicit } }]), { method: 'tools/call' }, options()), /no client to answer it/);
    const roots = scriptedDirect([{ resultType: 'input_required', inputRequests: { r: { method: 'roots/list' } } }]);
    await assert.rejects(requestStateless(roots, { method: 'tools/call' }, { ...options(), onServerRequest: async () => ({}) }), /did not offer \(roots\/list\)/);
  });

  it('pass input on to a caller that answers it itself: one round, its answers and the upstream’s state sent as given, with its capabilities', async () => {
    const direct = scriptedDirect([{ resultType: 'input_required', inputRequests: { ok: elicit }, requestState: 'upstream-2' }]);
    const passInput = { clientCapabilities: { roots: {} }, inputResponses: { ok: { action: 'accept' } }, requestState: 'upstream-1' };
    const relayed: string[] = [];
    await assert.rejects(
      requestStateless(direct, { method: 'tools/call', params: { name: 't' } }, { ...options(), passInput, onServerRequest: async (request) => (relayed.push(request.method), {}) }),
      (error: unknown) => {
        assert.ok(error instanceof UpstreamInputRequired);
        assert.deepEqual([error.inputRequests, error.requestState], [{ ok: elicit }, 'upstream-2']);
        return true;
      },
    );
    assert.deepEqual(relayed, []);
    assert.deepEqual(direct.sent, [{ method: 'tools/call', params: { name: 't', inputResponses: { ok: { action: 'accept' } }, requestState: 'upstream-1' }, capabilities: { roots: {} } }]);
  });

  it('give up on an upstream that asks for input round after round', async () => {
    const forever = scriptedDirect(Array.from({ length: 20 }, () => ({ resultType: 'input_required', requestState: 's' })));
    await assert.rejects(requestStateless(forever, { method: 'tools/call' }, { ...options(), onServerRequest: async () => ({}) }), /more than 10 times/);
    assert.equal(forever.sent.length, 10);
  });
});
