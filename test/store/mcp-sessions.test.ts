import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { McpSessionRecord } from '../../src/store/index.js';
import { backends, createTestUsers, openTestStore } from '../helpers/backends.js';

function session(id: string, userId: string, lastSeenAt = 10): McpSessionRecord {
  return {
    id,
    userId,
    username: userId === 'usr_a' ? 'ada' : 'bob',
    clientId: 'cli_1',
    via: 'access_token',
    apiKeyId: null,
    protocolVersion: '2025-11-25',
    clientCapabilities: '{"sampling":{}}',
    clientInfo: '{"name":"test","version":"1"}',
    initialized: false,
    logLevel: null,
    virtualServer: null,
    createdAt: 5,
    lastSeenAt,
  };
}

for (const backend of backends) {
  describe(`MCP session store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_a', 'ada'], ['usr_b', 'bob']]);
    });
    afterEach(() => store.close());

    it('keeps what a replica needs to rebuild a session, and finds it by id', async () => {
      await store.mcpSessions.create(session('s1', 'usr_a'));
      assert.deepEqual(await store.mcpSessions.find('s1'), session('s1', 'usr_a'));
      assert.equal(await store.mcpSessions.find('s2'), undefined);
    });

    it('keeps the API key a session was opened with', async () => {
      const opened = { ...session('s1', 'usr_a'), clientId: null, via: 'api_key' as const, apiKeyId: 'key_1' };
      await store.mcpSessions.create(opened);
      assert.deepEqual(await store.mcpSessions.find('s1'), opened);
    });

    it('counts the sessions used since a time, for the overview, and the tool calls by outcome', async () => {
      await store.mcpSessions.create(session('s1', 'usr_a', 100));
      await store.mcpSessions.create(session('s2', 'usr_b', 200));
      assert.deepEqual([await store.mcpSessions.countUsedSince(100), await store.mcpSessions.countUsedSince(101), await store.mcpSessions.countUsedSince(201)], [2, 1, 0]);
      const call = { userId: null, clientId: null, upstreamId: 'ups_1', upstreamName: 'one', tool: 't', error: null, durationMs: 1, arguments: null };
      await store.toolCalls.append({ ...call, id: 'c1', at: 50, outcome: 'ok' });
      await store.toolCalls.append({ ...call, id: 'c2', at: 150, outcome: 'ok' });
      await store.toolCalls.append({ ...call, id: 'c3', at: 160, outcome: 'timeout' });
      assert.deepEqual(await store.toolCalls.countByOutcomeSince(100), { ok: 1, timeout: 1 });
      assert.deepEqual((await store.toolCalls.list({ since: 100, until: 160, limit: 10 })).map((c) => c.id), ['c2'], 'until is exclusive');
    });

    it('records the initialized notification and the log level', async () => {
      await store.mcpSessions.create(session('s1', 'usr_a'));
      await store.mcpSessions.update('s1', { initialized: true });
      await store.mcpSessions.update('s1', { logLevel: 'warning' });
      const found = await store.mcpSessions.find('s1');
      assert.equal(found?.initialized, true);
      assert.equal(found?.logLevel, 'warning');
    });

    it('touch moves last use forward only', async () => {
      await store.mcpSessions.create(session('s1', 'usr_a', 10));
      await store.mcpSessions.create(session('s2', 'usr_a', 50));
      await store.mcpSessions.touch(['s1', 's2'], 30);
      assert.equal((await store.mcpSessions.find('s1'))?.lastSeenAt, 30);
      assert.equal((await store.mcpSessions.find('s2'))?.lastSeenAt, 50);
    });

    it('deleteIfIdle deletes only a session unused since the cutoff', async () => {
      await store.mcpSessions.create(session('s1', 'usr_a', 10));
      assert.equal(await store.mcpSessions.deleteIfIdle('s1', 9), false);
      assert.equal(await store.mcpSessions.deleteIfIdle('s1', 10), true);
      assert.equal(await store.mcpSessions.find('s1'), undefined);
    });

    it('deleteIdle deletes idle sessions oldest first, up to the limit, and names them', async () => {
      await store.mcpSessions.create(session('old', 'usr_a', 1));
      await store.mcpSessions.create(session('older', 'usr_b', 0));
      await store.mcpSessions.create(session('fresh', 'usr_a', 100));
      assert.deepEqual(await store.mcpSessions.deleteIdle(50, 1), ['older']);
      assert.deepEqual(await store.mcpSessions.deleteIdle(50, 10), ['old']);
      assert.ok(await store.mcpSessions.find('fresh'));
    });

    it("lists one user's sessions least recently used first", async () => {
      await store.mcpSessions.create(session('a2', 'usr_a', 20));
      await store.mcpSessions.create(session('a1', 'usr_a', 10));
      await store.mcpSessions.create(session('b1', 'usr_b', 5));
      assert.deepEqual(await store.mcpSessions.listForUser('usr_a'), [
        { id: 'a1', lastSeenAt: 10 },
        { id: 'a2', lastSeenAt: 20 },
      ]);
    });

    it('delete says whether there was a session, and a deleted user takes their sessions along', async () => {
      await store.mcpSessions.create(session('s1', 'usr_a'));
      await store.mcpSessions.create(session('s2', 'usr_b'));
      assert.equal(await store.mcpSessions.delete('s1'), true);
      assert.equal(await store.mcpSessions.delete('s1'), false);
      await store.database.run('DELETE FROM users WHERE id = ?', ['usr_b']);
      assert.equal(await store.mcpSessions.find('s2'), undefined);
    });
  });
}
