import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiKeyRecord } from '../../src/store/index.js';
import { backends, createTestUsers, openTestStore } from '../helpers/backends.js';

function apiKey(id: string, userId: string, createdAt: number): ApiKeyRecord {
  return { id, userId, name: `key ${id}`, tokenHash: `p1.hash-${id}`, hint: 'gth_ak_abcd', createdAt, lastUsedAt: null, revokedAt: null };
}

for (const backend of backends) {
  describe(`api key store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_a', 'ada'], ['usr_b', 'bob']]);
    });
    afterEach(() => store.close());

    it('finds a key by id and by token hash, and nothing for unknown ones', async () => {
      const k = apiKey('key_1', 'usr_a', 1);
      await store.apiKeys.create(k);
      assert.deepEqual(await store.apiKeys.findById('key_1'), k);
      assert.deepEqual(await store.apiKeys.findByTokenHash('p1.hash-key_1'), k);
      assert.equal(await store.apiKeys.findById('key_none'), undefined);
      assert.equal(await store.apiKeys.findByTokenHash('p1.none'), undefined);
    });

    it('refuses two keys with one token hash', async () => {
      await store.apiKeys.create(apiKey('key_1', 'usr_a', 1));
      await assert.rejects(store.apiKeys.create({ ...apiKey('key_2', 'usr_a', 2), tokenHash: 'p1.hash-key_1' }));
    });

    it('lists all keys oldest first, or one user’s keys', async () => {
      await store.apiKeys.create(apiKey('key_3', 'usr_a', 30));
      await store.apiKeys.create(apiKey('key_1', 'usr_b', 10));
      await store.apiKeys.create(apiKey('key_2', 'usr_a', 20));
      assert.deepEqual((await store.apiKeys.list()).map((k) => k.id), ['key_1', 'key_2', 'key_3']);
      assert.deepEqual((await store.apiKeys.list({ userId: 'usr_a' })).map((k) => k.id), ['key_2', 'key_3']);
      assert.deepEqual(await store.apiKeys.list({ userId: 'usr_none' }), []);
    });

    it('revoke succeeds once and reports false after, or for an unknown key', async () => {
      await store.apiKeys.create(apiKey('key_1', 'usr_a', 1));
      assert.equal(await store.apiKeys.revoke('key_1', 10), true);
      assert.equal(await store.apiKeys.revoke('key_1', 20), false);
      assert.equal(await store.apiKeys.revoke('key_none', 20), false);
      assert.equal((await store.apiKeys.findById('key_1'))!.revokedAt, 10);
    });

    it('touch records the last use', async () => {
      await store.apiKeys.create(apiKey('key_1', 'usr_a', 1));
      await store.apiKeys.touch('key_1', 99);
      assert.equal((await store.apiKeys.findById('key_1'))!.lastUsedAt, 99);
    });
  });
}
