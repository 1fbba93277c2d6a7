import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BrowserSessionRecord } from '../../src/store/index.js';
import { backends, createTestUsers, openTestStore } from '../helpers/backends.js';

function session(tokenHash: string, userId: string): BrowserSessionRecord {
  return { tokenHash, userId, createdAt: 1, lastSeenAt: 1, absoluteExpiresAt: 1000, revokedAt: null, userAgent: 'test-agent' };
}

for (const backend of backends) {
  describe(`browser session store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_a', 'ada'], ['usr_b', 'bob']]);
    });
    afterEach(() => store.close());

    it('creates a session and finds it by token hash', async () => {
      const s = session('p1.aaa', 'usr_a');
      await store.sessions.create(s);
      assert.deepEqual(await store.sessions.findByTokenHash('p1.aaa'), s);
      assert.equal(await store.sessions.findByTokenHash('p1.none'), undefined);
    });

    it('touch moves last-seen forward', async () => {
      await store.sessions.create(session('p1.aaa', 'usr_a'));
      await store.sessions.touch('p1.aaa', 50);
      assert.equal((await store.sessions.findByTokenHash('p1.aaa'))!.lastSeenAt, 50);
    });

    it('revoke marks the session once and keeps the first revocation time', async () => {
      await store.sessions.create(session('p1.aaa', 'usr_a'));
      await store.sessions.revoke('p1.aaa', 10);
      await store.sessions.revoke('p1.aaa', 20);
      assert.equal((await store.sessions.findByTokenHash('p1.aaa'))!.revokedAt, 10);
    });

    it("revokeAllForUser ends that user's live sessions only and counts them", async () => {
      await store.sessions.create(session('p1.a1', 'usr_a'));
      await store.sessions.create(session('p1.a2', 'usr_a'));
      await store.sessions.create(session('p1.a3', 'usr_a'));
      await store.sessions.create(session('p1.b1', 'usr_b'));
      await store.sessions.revoke('p1.a3', 5);
      assert.equal(await store.sessions.revokeAllForUser('usr_a', 30), 2);
      assert.equal((await store.sessions.findByTokenHash('p1.a1'))!.revokedAt, 30);
      assert.equal((await store.sessions.findByTokenHash('p1.a2'))!.revokedAt, 30);
      assert.equal((await store.sessions.findByTokenHash('p1.a3'))!.revokedAt, 5);
      assert.equal((await store.sessions.findByTokenHash('p1.b1'))!.revokedAt, null);
      assert.equal(await store.sessions.revokeAllForUser('usr_a', 40), 0);
    });

    it('refuses a session for a user that does not exist', async () => {
      await assert.rejects(store.sessions.create(session('p1.x', 'usr_none')));
    });
  });
}
