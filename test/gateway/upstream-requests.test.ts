import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpError, type ClientCapabilities, type Result } from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcError } from '../../src/gateway/forwarding.js';
import { serverRequestSender } from '../../src/gateway/upstream-requests.js';

const options = { signal: new AbortController().signal, timeout: 1000 };
const sampling = { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 };
const form = { message: 'Name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } };

/** A sender over a downstream session whose client declared `capabilities` and answers with `answer`. */
function senderFor(capabilities: ClientCapabilities | undefined, answer: () => unknown = () => ({ action: 'decline' })) {
  const sent: Array<{ request: unknown; options: unknown }> = [];
  const toClient = async (request: unknown, _schema: unknown, given: unknown) => {
    sent.push({ request, options: given });
    return answer() as Result;
  };
  return { send: serverRequestSender(toClient, () => capabilities), sent };
}

const refusal = (what: RegExp) => (error: unknown) => error instanceof JsonRpcError && error.code === -32601 && what.test(error.message);

describe('upstream requests sent on to the downstream client', () => {
  it('go to a client that declared the capability, on the call’s own request, with the upstream’s timeout', async () => {
    const { send, sent } = senderFor({ sampling: {} }, () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'yo' } }));
    assert.deepEqual(await send({ method: 'sampling/createMessage', params: sampling }, options), { role: 'assistant', model: 'm', content: { type: 'text', text: 'yo' } });
    assert.deepEqual(sent, [{ request: { method: 'sampling/createMessage', params: sampling }, options }]);
  });

  it('are refused for a client without sampling, or without sampling tools when the upstream offers tools', async () => {
    await assert.rejects(senderFor({}).send({ method: 'sampling/createMessage', params: sampling }, options), refusal(/does not support sampling/));
    const withTools = { ...sampling, tools: [{ name: 't', inputSchema: { type: 'object' } }] };
    await assert.rejects(senderFor({ sampling: {} }).send({ method: 'sampling/createMessage', params: withTools }, options), refusal(/sampling with tools/));
  });

  it('never ask the client for context: the gateway’s context spans every upstream', async () => {
    const { send, sent } = senderFor({ sampling: { context: {} } }, () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'yo' } }));
    await send({ method: 'sampling/createMessage', params: { ...sampling, includeContext: 'allServers' } }, options);
    assert.deepEqual((sent[0]!.request as { params: unknown }).params, sampling);
  });

  it('follow the elicitation modes the client declared (an empty capability means form)', async () => {
    await senderFor({ elicitation: {} }).send({ method: 'elicitation/create', params: form }, options);
    await assert.rejects(senderFor({ elicitation: { form: {} } }).send({ method: 'elicitation/create', params: { mode: 'url', message: 'Go', url: 'https://x.example', elicitationId: 'e1' } }, options), refusal(/URL-mode/));
    await assert.rejects(senderFor({ elicitation: { url: {} } }).send({ method: 'elicitation/create', params: form }, options), refusal(/form-mode/));
    await assert.rejects(senderFor(undefined).send({ method: 'elicitation/create', params: form }, options), refusal(/form-mode/));
  });

  it('return the client’s own error with its code and message', async () => {
    const { send } = senderFor({ elicitation: {} }, () => {
      throw new McpError(-1, 'User rejected', { why: 'no' });
    });
    await assert.rejects(send({ method: 'elicitation/create', params: form }, options), (error: unknown) => {
      assert.ok(error instanceof JsonRpcError);
      assert.deepEqual([error.code, error.message, error.data], [-1, 'User rejected', { why: 'no' }]);
      return true;
    });
  });
});
