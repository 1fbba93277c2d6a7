import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import {
  argumentsDigest,
  BROWSER_INPUT,
  browserStep,
  credentialOf,
  declinedInBrowser,
  endpointOf,
  InputRequired,
  openRequestState,
  passedOn,
  REQUEST_STATE_TTL_MS,
  sealRequestState,
} from '../../../src/gateway/modern/input-required.js';
import { connectPrompt } from '../../../src/gateway/personal-connections.js';
import { UpstreamInputRequired } from '../../../src/upstream/streamable-http/stateless-requests.js';
import type { Upstream } from '../../../src/upstream/types.js';

const key = randomBytes(32);
const context = { key, userId: 'usr_ann', endpoint: '/mcp', credential: 'client cli_1', method: 'tools/call', name: 'personal_whoami', args: argumentsDigest({}) };
const upstream: Upstream = {
  id: 'ups_personal',
  settings: { name: 'personal', connection_type: 'http', auth_type: 'per_user_oauth', timeout_ms: 1000 },
  status: () => ({ state: 'connected', since: 0 }),
  client: () => undefined,
};
const connect = { url: 'https://gatehouse.example/connect/flow_1', elicitationId: 'flow_1' };

/** The -32602 refusal of a requestState, whatever is wrong with it. */
const refusesState = (work: () => unknown) =>
  assert.throws(work, (error: { code?: number; message?: string }) => error.code === ErrorCode.InvalidParams && /requestState is not valid/.test(error.message ?? ''));

describe('Gatehouse’s own requestState', () => {
  it('opens for the same user and request', () => {
    const state = openRequestState(context, sealRequestState(context, { upstreamId: upstream.id }));
    assert.equal(state.upstreamId, upstream.id);
    assert.equal(state.name, 'personal_whoami');
  });

  it('is opaque: the client reads nothing of it', () => {
    const sealed = sealRequestState(context, { upstreamId: upstream.id });
    assert.ok(!sealed.includes('ups_personal') && !Buffer.from(sealed.split('.')[2] ?? '', 'base64url').toString('utf8').includes('ups_personal'));
  });

  it('refuses a state changed by one character', () => {
    const sealed = sealRequestState(context, { upstreamId: upstream.id });
    const parts = sealed.split('.');
    const body = parts[2]!;
    parts[2] = `${body.slice(0, 5)}${body[5] === 'A' ? 'B' : 'A'}${body.slice(6)}`;
    refusesState(() => openRequestState(context, parts.join('.')));
    refusesState(() => openRequestState(context, 'not-a-state'));
  });

  it('refuses another user’s state, a state of another request, and a stale one', () => {
    const sealed = sealRequestState(context, { upstreamId: upstream.id });
    refusesState(() => openRequestState({ ...context, userId: 'usr_bob' }, sealed));
    refusesState(() => openRequestState({ ...context, name: 'personal_delete' }, sealed));
    refusesState(() => openRequestState({ ...context, method: 'prompts/get' }, sealed));
    refusesState(() => openRequestState({ ...context, now: () => Date.now() + REQUEST_STATE_TTL_MS + 1 }, sealed));
  });

  it('refuses a parked call’s state (and a browser step’s) retried with other arguments, in any key order the same ones', () => {
    const args = { table: 'users', where: { id: 1 } };
    const call = { ...context, args: argumentsDigest(args) };
    for (const step of [{ run: 'run_1', key: 'input-1', replica: 'replica_a' }, { upstreamId: upstream.id }]) {
      const sealed = sealRequestState(call, step);
      assert.equal(openRequestState({ ...call, args: argumentsDigest({ where: { id: 1 }, table: 'users' }) }, sealed).args, call.args);
      refusesState(() => openRequestState({ ...call, args: argumentsDigest({ table: 'orders', where: { id: 1 } }) }, sealed));
      refusesState(() => openRequestState({ ...call, args: argumentsDigest(undefined) }, sealed));
    }
  });

  it('refuses a state issued at another endpoint, or to another client or API key of the same user', () => {
    const sealed = sealRequestState(context, { upstreamId: upstream.id });
    refusesState(() => openRequestState({ ...context, endpoint: '/mcp/support' }, sealed));
    refusesState(() => openRequestState({ ...context, credential: 'client cli_2' }, sealed));
    refusesState(() => openRequestState({ ...context, credential: 'api_key key_1' }, sealed));
    const atVirtualServer = sealRequestState({ ...context, endpoint: '/mcp/support' }, { upstreamId: upstream.id });
    refusesState(() => openRequestState(context, atVirtualServer));
    assert.equal(openRequestState({ ...context, endpoint: '/mcp/support' }, atVirtualServer).upstreamId, upstream.id);
  });

  it('names the endpoint and the credential of a principal so that no two differ only in kind', () => {
    const ann = { via: 'access_token' as const, clientId: 'cli_1', virtualServer: undefined };
    assert.equal(endpointOf(ann), '/mcp');
    assert.equal(endpointOf({ virtualServer: 'support' }), '/mcp/support');
    assert.equal(credentialOf(ann), 'client cli_1');
    assert.equal(credentialOf({ via: 'api_key', clientId: null, apiKeyId: 'cli_1' }), 'api_key cli_1');
    assert.notEqual(credentialOf({ via: 'api_key', clientId: null, apiKeyId: 'key_1' }), credentialOf({ via: 'api_key', clientId: null, apiKeyId: 'key_2' }));
  });
});

describe('a 2026-07-28 upstream’s input_required passed on to the client', () => {
  const sampling = { method: 'sampling/createMessage', params: { messages: [], maxTokens: 10, includeContext: 'allServers' } };
  const roots = { method: 'roots/list', params: {} };

  it('keeps the upstream’s keys, and seals its state with the arguments into Gatehouse’s', () => {
    const passed = passedOn(context, new UpstreamInputRequired({ summary: sampling }, 'upstream-state'), { sampling: {} });
    assert.deepEqual(Object.keys(passed.result.inputRequests), ['summary']);
    assert.ok(!passed.result.requestState.includes('upstream-state'));
    const opened = openRequestState(context, passed.result.requestState);
    assert.deepEqual([opened.args, opened.passed?.requestState], [context.args, 'upstream-state']);
    assert.match(opened.passed?.once ?? '', /^once_[\w-]{22}$/, 'a random value that lets the state continue a call once');
    refusesState(() => openRequestState({ ...context, args: argumentsDigest({ table: 'users' }) }, passed.result.requestState));
  });

  it('offers the client no context of other upstreams in a sampling request, as a relayed one', () => {
    const passed = passedOn(context, new UpstreamInputRequired({ summary: sampling }, undefined), { sampling: {} });
    assert.deepEqual((passed.result.inputRequests.summary as { params: object }).params, { messages: [], maxTokens: 10 });
  });

  it('refuses an input request the client did not declare with -32021, and one it cannot read as internal error', () => {
    assert.throws(() => passedOn(context, new UpstreamInputRequired({ roots }, undefined), { sampling: {} }), (error: { code?: number; data?: unknown }) => {
      assert.deepEqual([error.code, error.data], [-32021, { requiredCapabilities: { roots: {} } }]);
      return true;
    });
    assert.throws(() => passedOn(context, new UpstreamInputRequired({ odd: 'not a request' }, undefined), { roots: {} }), (error: { code?: number }) => error.code === ErrorCode.InternalError);
  });

  it('digests arguments the same in any key order', () => {
    assert.equal(argumentsDigest({ a: 1, b: [2] }), argumentsDigest({ b: [2], a: 1 }));
    assert.notEqual(argumentsDigest({ a: 1 }), argumentsDigest({ a: 2 }));
    assert.equal(argumentsDigest(undefined), argumentsDigest({}));
  });
});

describe('asking a 2026-07-28 client in a browser (the connect step)', () => {
  it('asks with an input_required URL elicitation when the client declared URL elicitation', () => {
    const ask = browserStep(context, { elicitation: { url: {} } });
    assert.throws(
      () => ask(connectPrompt(upstream, connect)),
      (error: unknown) => {
        assert.ok(error instanceof InputRequired);
        const request = error.result.inputRequests[BROWSER_INPUT] as { method: string; params: { mode: string; url: string } };
        assert.equal(request.method, 'elicitation/create');
        assert.deepEqual([request.params.mode, request.params.url], ['url', connect.url]);
        assert.equal(openRequestState(context, error.result.requestState).upstreamId, upstream.id);
        return true;
      },
    );
  });

  it('gives the link in an error result to a client without URL elicitation (2026-07-28 has no -32042)', () => {
    const result = browserStep(context, { elicitation: { form: {} } })(connectPrompt(upstream, connect));
    assert.equal(result.isError, true);
    assert.match(JSON.stringify(result.content), /connect\/flow_1/);
  });

  it('reads a declined or cancelled answer as no', () => {
    assert.equal(declinedInBrowser({ [BROWSER_INPUT]: { action: 'decline' } }), true);
    assert.equal(declinedInBrowser({ [BROWSER_INPUT]: { action: 'cancel' } }), true);
    assert.equal(declinedInBrowser({ [BROWSER_INPUT]: { action: 'accept' } }), false);
    assert.equal(declinedInBrowser(undefined), false);
  });
});
