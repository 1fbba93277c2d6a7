import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { UpstreamOAuthFlowRecord } from '../../../src/store/index.js';
import { backends, openTestStore } from '../../helpers/backends.js';

function flow(id: string, patch: Partial<UpstreamOAuthFlowRecord> = {}): UpstreamOAuthFlowRecord {
  return { id, stateHash: `hash_${id}`, upstreamId: 'ups_a', userId: 'usr_a', purpose: 'per_user', sealed: 'v1.sealed', createdAt: 0, expiresAt: 1000, ...patch };
}

for (const backend of backends) {
  describe(`upstream OAuth flow store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('finds an unexpired flow by id, and not once it has expired', async () => {
      const record = flow('uof_1', { userId: null, purpose: 'shared' });
      await store.upstreamOAuthFlows.create(record);
      assert.deepEqual(await store.upstreamOAuthFlows.find('uof_1', 999), record);
      assert.equal(await store.upstreamOAuthFlows.find('uof_1', 1000), undefined);
      assert.equal(await store.upstreamOAuthFlows.find('uof_none', 1), undefined);
    });

    it('consumeByState returns the flow once, then nothing', async () => {
      const record = flow('uof_1');
      await store.upstreamOAuthFlows.create(record);
      assert.deepEqual(await store.upstreamOAuthFlows.consumeByState('hash_uof_1', 10), record);
      assert.equal(await store.upstreamOAuthFlows.consumeByState('hash_uof_1', 10), undefined);
      assert.equal(await store.upstreamOAuthFlows.find('uof_1', 10), undefined);
    });

    it('of two concurrent consumes of one state exactly one gets the flow', async () => {
      await store.upstreamOAuthFlows.create(flow('uof_1'));
      const results = await Promise.all([
        store.upstreamOAuthFlows.consumeByState('hash_uof_1', 10),
        store.upstreamOAuthFlows.consumeByState('hash_uof_1', 10),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('does not consume an expired flow', async () => {
      await store.upstreamOAuthFlows.create(flow('uof_1'));
      assert.equal(await store.upstreamOAuthFlows.consumeByState('hash_uof_1', 1000), undefined);
    });

    it('the retention sweep deletes expired flows only and counts them', async () => {
      await store.upstreamOAuthFlows.create(flow('uof_old1', { expiresAt: 100 }));
      await store.upstreamOAuthFlows.create(flow('uof_old2', { expiresAt: 200 }));
      await store.upstreamOAuthFlows.create(flow('uof_live', { expiresAt: 300 }));
      assert.equal(await store.retention.deleteExpiredUpstreamFlows(200, 10), 2);
      assert.equal(await store.retention.deleteExpiredUpstreamFlows(200, 10), 0);
      assert.ok(await store.upstreamOAuthFlows.find('uof_live', 200));
    });

    it("deleteForUpstream removes that upstream's flows only", async () => {
      await store.upstreamOAuthFlows.create(flow('uof_1'));
      await store.upstreamOAuthFlows.create(flow('uof_2'));
      await store.upstreamOAuthFlows.create(flow('uof_3', { upstreamId: 'ups_b' }));
      assert.equal(await store.upstreamOAuthFlows.deleteForUpstream('ups_a'), 2);
      assert.ok(await store.upstreamOAuthFlows.find('uof_3', 1));
    });

    it('refuses a second flow with the same state hash', async () => {
      await store.upstreamOAuthFlows.create(flow('uof_1'));
      await assert.rejects(store.upstreamOAuthFlows.create(flow('uof_2', { stateHash: 'hash_uof_1' })));
    });
  });
}
