import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { UpstreamOAuthConfigRecord } from '../../../src/store/index.js';
import { backends, openTestStore } from '../../helpers/backends.js';

function config(id: string, upstreamId: string, patch: Partial<UpstreamOAuthConfigRecord> = {}): UpstreamOAuthConfigRecord {
  return { id, upstreamId, discovered: null, status: 'pending', error: null, createdAt: 1, updatedAt: 1, ...patch };
}

for (const backend of backends) {
  describe(`upstream OAuth config store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('saves a config and finds it by id and by upstream', async () => {
      const record = config('oac_1', 'ups_a');
      await store.upstreamOAuthConfigs.save(record);
      assert.deepEqual(await store.upstreamOAuthConfigs.find('oac_1'), record);
      assert.deepEqual(await store.upstreamOAuthConfigs.findByUpstream('ups_a'), record);
      assert.equal(await store.upstreamOAuthConfigs.find('oac_none'), undefined);
      assert.equal(await store.upstreamOAuthConfigs.findByUpstream('ups_none'), undefined);
    });

    it('saving the same id again updates it and keeps its creation time', async () => {
      await store.upstreamOAuthConfigs.save(config('oac_1', 'ups_a'));
      const discovered = JSON.stringify({ issuer: 'https://as.example' });
      await store.upstreamOAuthConfigs.save(config('oac_1', 'ups_a', { discovered, status: 'failed', error: 'no S256', createdAt: 9, updatedAt: 9 }));
      assert.deepEqual(await store.upstreamOAuthConfigs.find('oac_1'), config('oac_1', 'ups_a', { discovered, status: 'failed', error: 'no S256', updatedAt: 9 }));
    });

    it('refuses a second config for the same upstream', async () => {
      await store.upstreamOAuthConfigs.save(config('oac_1', 'ups_a'));
      await assert.rejects(store.upstreamOAuthConfigs.save(config('oac_2', 'ups_a')));
    });

    it("deleteForUpstream removes only that upstream's config and says whether there was one", async () => {
      await store.upstreamOAuthConfigs.save(config('oac_1', 'ups_a'));
      await store.upstreamOAuthConfigs.save(config('oac_2', 'ups_b'));
      assert.equal(await store.upstreamOAuthConfigs.deleteForUpstream('ups_a'), true);
      assert.equal(await store.upstreamOAuthConfigs.deleteForUpstream('ups_a'), false);
      assert.equal(await store.upstreamOAuthConfigs.findByUpstream('ups_a'), undefined);
      assert.ok(await store.upstreamOAuthConfigs.findByUpstream('ups_b'));
    });
  });
}
