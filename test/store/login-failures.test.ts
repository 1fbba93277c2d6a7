import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backends, openTestStore } from '../helpers/backends.js';

const tenSecondsPerFailure = (failures: number) => failures * 10_000;

for (const backend of backends) {
  describe(`login failure store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('counts failures and applies the block computed from the new count', async () => {
      const first = await store.loginFailures.recordFailure('user:ada', 1000, 0, tenSecondsPerFailure);
      assert.deepEqual(first, { subject: 'user:ada', failures: 1, lastFailureAt: 1000, blockedUntil: 11_000 });
      const second = await store.loginFailures.recordFailure('user:ada', 2000, 0, tenSecondsPerFailure);
      assert.deepEqual(second, { subject: 'user:ada', failures: 2, lastFailureAt: 2000, blockedUntil: 22_000 });
      assert.deepEqual(await store.loginFailures.find('user:ada'), second);
    });

    it('restarts the count when the last failure is older than forgetBefore', async () => {
      await store.loginFailures.recordFailure('ip:1.2.3.4', 1000, 0, tenSecondsPerFailure);
      await store.loginFailures.recordFailure('ip:1.2.3.4', 2000, 0, tenSecondsPerFailure);
      const fresh = await store.loginFailures.recordFailure('ip:1.2.3.4', 90_000, 5000, tenSecondsPerFailure);
      assert.equal(fresh.failures, 1);
      assert.equal(fresh.blockedUntil, 100_000);
    });

    it('counts every one of many concurrent failures', async () => {
      await Promise.all(Array.from({ length: 10 }, () => store.loginFailures.recordFailure('user:bob', 1000, 0, () => 0)));
      assert.equal((await store.loginFailures.find('user:bob'))!.failures, 10);
    });

    it('keeps subjects apart and clear forgets one', async () => {
      await store.loginFailures.recordFailure('user:ada', 1000, 0, tenSecondsPerFailure);
      await store.loginFailures.recordFailure('user:bob', 1000, 0, tenSecondsPerFailure);
      await store.loginFailures.clear('user:ada');
      assert.equal(await store.loginFailures.find('user:ada'), undefined);
      assert.equal((await store.loginFailures.find('user:bob'))!.failures, 1);
    });
  });
}
