import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LoginFailureRecord } from '../../src/store/index.js';
import { backends, openTestStore } from '../helpers/backends.js';

/** One more failure on each subject, blocked ten seconds per failure. */
const countFailure = (at: number) => (records: LoginFailureRecord[]) => ({
  records: records.map((r) => ({ ...r, failures: r.failures + 1, lastFailureAt: at, blockedUntil: at + (r.failures + 1) * 10_000 })),
  result: records.map((r) => r.failures),
});

for (const backend of backends) {
  describe(`login failure store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('hands absent subjects over as zero failures and stores what the decision returns', async () => {
      const seen = await store.loginFailures.update(['ip:1.2.3.4', 'user:ada'], countFailure(1000));
      assert.deepEqual(seen, [0, 0]);
      assert.deepEqual(await store.loginFailures.find('user:ada'), { subject: 'user:ada', failures: 1, lastFailureAt: 1000, blockedUntil: 11_000 });
      assert.deepEqual(await store.loginFailures.update(['user:ada', 'ip:1.2.3.4'], countFailure(2000)), [1, 1], 'records come in the order asked');
    });

    it('deletes a subject whose decided count is zero, and keeps nothing for a subject only read', async () => {
      await store.loginFailures.update(['user:ada', 'user:bob'], countFailure(1000));
      await store.loginFailures.update(['user:ada', 'user:carol'], (records) => ({ records: [{ ...records[0]!, failures: 0 }, records[1]!], result: undefined }));
      assert.equal(await store.loginFailures.find('user:ada'), undefined);
      assert.equal(await store.loginFailures.find('user:carol'), undefined);
      assert.equal((await store.loginFailures.find('user:bob'))!.failures, 1);
    });

    it('runs concurrent updates of one subject one after another: each sees the count the one before left', async () => {
      const seen = await Promise.all(Array.from({ length: 12 }, (_, i) => store.loginFailures.update([`ip:10.0.0.${i % 3}`, 'user:bob'], countFailure(1000))));
      assert.deepEqual(seen.map(([, account]) => account).sort((a, b) => a! - b!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      assert.equal((await store.loginFailures.find('user:bob'))!.failures, 12);
      assert.equal((await store.loginFailures.find('ip:10.0.0.1'))!.failures, 4);
    });

    it('a decision that throws changes nothing', async () => {
      await store.loginFailures.update(['user:ada'], countFailure(1000));
      await assert.rejects(store.loginFailures.update(['user:ada', 'user:dan'], () => {
        throw new Error('no');
      }));
      assert.equal((await store.loginFailures.find('user:ada'))!.failures, 1);
      assert.equal(await store.loginFailures.find('user:dan'), undefined);
    });
  });
}
