import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backends, openTestStore } from '../helpers/backends.js';

const insertMeta = 'INSERT INTO meta (key, value) VALUES (?, ?)';

for (const backend of backends) {
  describe(`transactions on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('commits every statement when the work resolves', async () => {
      const result = await store.database.transaction(async (tx) => {
        await tx.run(insertMeta, ['a', '1']);
        await tx.run(insertMeta, ['b', '2']);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal(await store.meta.get('a'), '1');
      assert.equal(await store.meta.get('b'), '2');
    });

    it('rolls back every statement when the work throws, and passes the error on', async () => {
      const failure = new Error('work failed');
      await assert.rejects(
        store.database.transaction(async (tx) => {
          await tx.run(insertMeta, ['a', '1']);
          assert.equal((await tx.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', ['a']))?.value, '1');
          throw failure;
        }),
        (error) => error === failure,
      );
      assert.equal(await store.meta.get('a'), undefined);
    });

    it('rolls back when a statement inside fails', async () => {
      await assert.rejects(
        store.database.transaction(async (tx) => {
          await tx.run(insertMeta, ['a', '1']);
          await tx.run(insertMeta, ['a', 'duplicate']);
        }),
      );
      assert.equal(await store.meta.get('a'), undefined);
    });

    it('a nested transaction joins the outer one and rolls back with it', async () => {
      await assert.rejects(
        store.database.transaction(async (tx) => {
          await tx.transaction((inner) => inner.run(insertMeta, ['inner', '1']));
          throw new Error('outer fails');
        }),
      );
      assert.equal(await store.meta.get('inner'), undefined);
    });

    it('other statements do not see uncommitted writes', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let written!: () => void;
      const wrote = new Promise<void>((resolve) => (written = resolve));
      const transaction = store.database.transaction(async (tx) => {
        await tx.run(insertMeta, ['pending', '1']);
        written();
        await held;
        throw new Error('abandon');
      });
      await wrote;
      const outside = store.meta.get('pending');
      release();
      await assert.rejects(transaction);
      assert.equal(await outside, undefined);
    });
  });
}
