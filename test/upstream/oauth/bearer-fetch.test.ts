import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerFetch, type BearerSource } from '../../../src/upstream/oauth/bearer-fetch.js';

/** A token source that hands out `t1`, then `t2` after a renewal, and records what happened. */
function source(): BearerSource & { renewed: string[] } {
  let current = 't1';
  const renewed: string[] = [];
  return {
    renewed,
    token: async () => current,
    renew: async (stale) => {
      renewed.push(stale);
      current = 't2';
      return current;
    },
  };
}

describe('bearerFetch', () => {
  it('puts the upstream token on every request, replacing any Authorization the caller set', async () => {
    const seen: (string | null)[] = [];
    const fetch = bearerFetch(source(), async (_url, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return new Response('{}', { status: 200 });
    });
    await fetch('http://upstream.test/mcp', { method: 'POST', headers: { authorization: 'Bearer downstream-token', 'content-type': 'application/json' }, body: '{}' });
    assert.deepEqual(seen, ['Bearer t1']);
  });

  it('on 401 renews the refused token once and sends the same request again', async () => {
    const tokens = source();
    const bodies: unknown[] = [];
    const fetch = bearerFetch(tokens, async (_url, init) => {
      bodies.push(init?.body);
      return new Headers(init?.headers).get('authorization') === 'Bearer t1' ? new Response('', { status: 401 }) : new Response('ok');
    });
    const response = await fetch('http://upstream.test/mcp', { method: 'POST', body: '{"jsonrpc":"2.0"}' });
    assert.equal(response.status, 200);
    assert.deepEqual(tokens.renewed, ['t1']);
    assert.deepEqual(bodies, ['{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0"}']);
  });

  it('a second 401 is the answer: no loop of renewals', async () => {
    const tokens = source();
    const fetch = bearerFetch(tokens, async () => new Response('', { status: 401 }));
    assert.equal((await fetch('http://upstream.test/mcp')).status, 401);
    assert.equal(tokens.renewed.length, 1);
  });

  it('a source without a token fails the request with its error, and nothing is sent', async () => {
    let sent = 0;
    const fetch = bearerFetch({ token: async () => Promise.reject(new Error('needs authorization')), renew: async () => 'x' }, async () => {
      sent += 1;
      return new Response('');
    });
    await assert.rejects(fetch('http://upstream.test/mcp'), /needs authorization/);
    assert.equal(sent, 0);
  });
});
