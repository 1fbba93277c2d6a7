import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { withOwnSignal } from '../../src/upstream/transports.js';

describe('upstream HTTP transports', () => {
  it('give every fetch its own abort signal: the transport’s long-lived one gathers no listeners, and still aborts them all', async () => {
    const transport = new AbortController();
    const seen: AbortSignal[] = [];
    const fetch = withOwnSignal(async (_url, init) => {
      const signal = init!.signal!;
      seen.push(signal);
      // What undici does with a request's signal.
      signal.addEventListener('abort', () => undefined);
      return new Response('ok');
    });
    for (let i = 0; i < 50; i++) await fetch('http://upstream.test/mcp', { method: 'POST', body: '{}', signal: transport.signal });
    assert.equal(getEventListeners(transport.signal, 'abort').length, 0);
    assert.ok(seen.every((signal) => signal !== transport.signal && !signal.aborted));
    transport.abort();
    assert.ok(seen.every((signal) => signal.aborted));
  });

  it('pass a request without a signal through unchanged', async () => {
    let init: RequestInit | undefined;
    await withOwnSignal(async (_url, given) => {
      init = given;
      return new Response('ok');
    })('http://upstream.test/mcp', { method: 'GET' });
    assert.deepEqual(init, { method: 'GET' });
  });
});
