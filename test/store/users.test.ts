import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends, openTestStore } from '../helpers/backends.js';

for (const backend of backends) {
  describe(`user store on ${backend}`, () => {
    it('creates a user and finds it by id and by username', async () => {
      const store = await openTestStore(backend);
      try {
        const user = { id: 'usr_1', username: 'ada', passwordHash: 'h', isAdmin: true, disabledAt: null, createdAt: 1, updatedAt: 1 };
        await store.users.create(user);
        assert.deepEqual(await store.users.findById('usr_1'), user);
        assert.deepEqual(await store.users.findByUsername('ada'), user);
        assert.equal(await store.users.count(), 1);
      } finally {
        await store.close();
      }
    });
  });
}
