import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { NeedsAuthorization } from '../../src/upstream/oauth/token-vault.js';
import { createPerUserPool } from '../../src/upstream/per-user-pool.js';
import type { Upstream, UpstreamSettings } from '../../src/upstream/types.js';

/** POSTs without a session that are not the era probe (`server/discover`, which names its method in Mcp-Method). */
const initializes = (upstream: HttpUpstream) =>
  upstream.requests.filter((headers) => headers['mcp-session-id'] === undefined && headers['content-type'] !== undefined && headers['mcp-method'] === undefined).length;

describe('the per-user pool of upstream connections', () => {
  let http: HttpUpstream;
  let upstream: Upstream;
  const tokens = new Map<string, string>([['usr_alice', 'alice-token'], ['usr_bob', 'bob-token']]);
  const bearer = (target: Upstream, userId: string) => ({
    token: async () => {
      const token = tokens.get(userId);
      if (!token) throw new NeedsAuthorization(target.id, userId, 'not authorized yet');
      return token;
    },
    renew: async () => tokens.get(userId)!,
  });

  before(async () => {
    http = await startHttpUpstream({ name: 'pooled' });
    const settings: UpstreamSettings = { name: 'pooled', connection_type: 'http', connection_string: `http://127.0.0.1:${http.port}/mcp`, auth_type: 'per_user_oauth', timeout_ms: 5000 };
    upstream = { id: 'ups_pooled', settings, status: () => ({ state: 'connected', since: 0 }), client: () => undefined };
  });
  after(async () => http?.close());

  it('reuses one connection per user across calls, each carrying that user’s own token', async () => {
    const pool = createPerUserPool({ bearer, maxSize: 10, idleMs: 60_000, clientVersion: 'test' });
    try {
      http.requests.length = 0;
      const first = await pool.clientFor(upstream, 'usr_alice');
      const again = await pool.clientFor(upstream, 'usr_alice');
      const bob = await pool.clientFor(upstream, 'usr_bob');
      assert.equal(first, again);
      assert.notEqual(first, bob);
      await first.listTools();
      await bob.listTools();
      assert.equal(initializes(http), 2, 'one initialize per user, not per call');
      const authorizations = new Set(http.requests.map((headers) => headers.authorization));
      assert.deepEqual([...authorizations].sort(), ['Bearer alice-token', 'Bearer bob-token']);
      assert.equal(pool.size(), 2);
    } finally {
      await pool.close();
    }
  });

  it('a user without tokens gets NeedsAuthorization and no connection is made or kept', async () => {
    const pool = createPerUserPool({ bearer, maxSize: 10, idleMs: 60_000, clientVersion: 'test' });
    try {
      http.requests.length = 0;
      await assert.rejects(pool.clientFor(upstream, 'usr_carol'), NeedsAuthorization);
      assert.equal(http.requests.length, 0);
      assert.equal(pool.size(), 0);
    } finally {
      await pool.close();
    }
  });

  it('a pooled connection whose user lost their tokens is closed, and the caller is told to authorize', async () => {
    const pool = createPerUserPool({ bearer, maxSize: 10, idleMs: 60_000, clientVersion: 'test' });
    try {
      tokens.set('usr_dave', 'dave-token');
      await pool.clientFor(upstream, 'usr_dave');
      tokens.delete('usr_dave');
      await assert.rejects(pool.clientFor(upstream, 'usr_dave'), NeedsAuthorization);
      assert.equal(pool.size(), 0);
    } finally {
      await pool.close();
    }
  });

  it('is bounded: beyond its size the least recently used connection is closed', async () => {
    const pool = createPerUserPool({ bearer, maxSize: 1, idleMs: 60_000, clientVersion: 'test' });
    try {
      const alice = await pool.clientFor(upstream, 'usr_alice');
      await pool.clientFor(upstream, 'usr_bob');
      assert.equal(pool.size(), 1);
      assert.notEqual(await pool.clientFor(upstream, 'usr_alice'), alice, 'alice’s old connection was closed');
    } finally {
      await pool.close();
    }
  });

  it('closes connections left idle', async () => {
    let clock = 0;
    const pool = createPerUserPool({ bearer, maxSize: 10, idleMs: 1000, clientVersion: 'test', now: () => clock });
    try {
      const alice = await pool.clientFor(upstream, 'usr_alice');
      clock = 5000;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(pool.size(), 0);
      assert.notEqual(await pool.clientFor(upstream, 'usr_alice'), alice);
    } finally {
      await pool.close();
    }
  });

  it('drop and retain close the connections of a disconnected user and of removed upstreams', async () => {
    const pool = createPerUserPool({ bearer, maxSize: 10, idleMs: 60_000, clientVersion: 'test' });
    try {
      await pool.clientFor(upstream, 'usr_alice');
      await pool.clientFor(upstream, 'usr_bob');
      await pool.drop(upstream.id, 'usr_alice');
      assert.equal(pool.size(), 1);
      await pool.retain(new Set());
      assert.equal(pool.size(), 0);
    } finally {
      await pool.close();
    }
  });
});
