import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerHint, combineHints, hintOfResult, UNCACHEABLE } from '../../src/gateway/cache-hints.js';
import type { Upstream, UpstreamSettings } from '../../src/upstream/types.js';

const upstream = (settings: Partial<UpstreamSettings> = {}): Upstream => ({
  id: 'up',
  settings: { name: 'up', connection_type: 'in_process', auth_type: 'none', timeout_ms: 1000, ...settings },
  status: () => ({ state: 'connected', since: 0 }),
  client: () => undefined,
});

describe('cache hints of gateway answers', () => {
  it('reads an upstream’s own hint, and counts a missing or malformed one as stale and private', () => {
    assert.deepEqual(hintOfResult({ ttlMs: 60_000, cacheScope: 'public' }), { ttlMs: 60_000, cacheScope: 'public' });
    assert.deepEqual(hintOfResult({}), { ttlMs: 0, cacheScope: 'private' });
    assert.deepEqual(hintOfResult({ ttlMs: -5, cacheScope: 'shared' }), { ttlMs: 0, cacheScope: 'private' });
    assert.deepEqual(hintOfResult({ ttlMs: 1.5, cacheScope: 'public' }), { ttlMs: 0, cacheScope: 'public' });
  });

  it('takes the smallest TTL of the parts, and private as soon as one part is', () => {
    assert.deepEqual(combineHints([{ ttlMs: 60_000, cacheScope: 'public' }, { ttlMs: 5_000, cacheScope: 'public' }]), { ttlMs: 5_000, cacheScope: 'public' });
    assert.deepEqual(combineHints([{ ttlMs: 60_000, cacheScope: 'public' }, { ttlMs: 90_000, cacheScope: 'private' }]), { ttlMs: 60_000, cacheScope: 'private' });
    assert.deepEqual(combineHints([]), UNCACHEABLE);
  });

  it('makes an answer private when any configured upstream is per-user or shown to some users only, even one the caller does not see', () => {
    const parts = [{ ttlMs: 60_000, cacheScope: 'public' as const }];
    assert.deepEqual(answerHint([upstream()], parts), { ttlMs: 60_000, cacheScope: 'public' });
    assert.equal(answerHint([upstream(), upstream({ auth_type: 'per_user_oauth' })], parts).cacheScope, 'private');
    assert.equal(answerHint([upstream(), upstream({ allowed_groups: ['finance'] })], parts).cacheScope, 'private');
    assert.equal(answerHint([upstream({ allowed_users: ['ann'] })], parts).cacheScope, 'private');
    assert.equal(answerHint([upstream({ tools_to_skip: ['drop'] })], parts).cacheScope, 'public', 'tool lists apply to everyone alike');
  });
});
