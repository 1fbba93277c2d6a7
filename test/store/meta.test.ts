import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backends, openTestStore } from '../helpers/backends.js';

for (const backend of backends) {
  describe(`meta store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('answers undefined for a key never stored', async () => {
      assert.equal(await store.meta.get('missing'), undefined);
    });

    it('putIfAbsent stores the first value and keeps it against later writers', async () => {
      assert.equal(await store.meta.putIfAbsent('k', 'first'), 'first');
      assert.equal(await store.meta.putIfAbsent('k', 'second'), 'first');
      assert.equal(await store.meta.get('k'), 'first');
    });

    it('concurrent putIfAbsent calls all see the one value that won', async () => {
      const values = await Promise.all(Array.from({ length: 8 }, (_, i) => store.meta.putIfAbsent('race', `v${i}`)));
      assert.equal(new Set(values).size, 1);
      assert.equal(await store.meta.get('race'), values[0]);
    });
  });
}
