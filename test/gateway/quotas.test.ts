import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { callQuotas } from '../../src/gateway/quotas.js';
import type { Upstream, UpstreamSettings } from '../../src/upstream/types.js';
import { backends, openTestStore } from '../helpers/backends.js';

function upstream(id: string, settings: Partial<UpstreamSettings>): Upstream {
  return {
    id,
    settings: { name: id, connection_type: 'in_process', auth_type: 'none', timeout_ms: 1000, ...settings },
    status: () => ({ state: 'connected', since: 0 }),
    client: () => undefined,
  };
}

for (const backend of backends) {
  describe(`call quotas on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let clock = 0;
    beforeEach(async () => {
      store = await openTestStore(backend);
      clock = 1_000_000;
    });
    afterEach(() => store.close());

    it('lets N calls through in a window, refuses the next with the seconds left, and starts again in the next window', async () => {
      const quotas = callQuotas(store.rateWindows, () => clock);
      const shop = upstream('ups_shop', { rate_limit: { calls: 2, per_seconds: 60 } });
      assert.equal(await quotas.take(shop, 'search', 'user_ann'), undefined);
      assert.equal(await quotas.take(shop, 'other', 'user_ann'), undefined);
      clock += 15_000;
      assert.deepEqual(await quotas.take(shop, 'search', 'user_ann'), { scope: 'upstream', limit: { calls: 2, per_seconds: 60 }, retryAfterSeconds: 5 });
      assert.equal(await quotas.take(shop, 'search', 'user_bob'), undefined, 'another principal has a count of its own');
      clock = 1_020_000;
      assert.equal(await quotas.take(shop, 'search', 'user_ann'), undefined, 'a new window');
    });

    it('a tool limit counts that tool only', async () => {
      const quotas = callQuotas(store.rateWindows, () => clock);
      const shop = upstream('ups_shop', { tool_rate_limits: { search: { calls: 1, per_seconds: 10 } } });
      assert.equal(await quotas.take(shop, 'search', 'user_ann'), undefined);
      assert.equal((await quotas.take(shop, 'search', 'user_ann'))?.scope, 'tool');
      assert.equal(await quotas.take(shop, 'price', 'user_ann'), undefined);
      assert.equal(await quotas.take(shop, 'constructor', 'user_ann'), undefined, 'no limit inherited from Object.prototype');
    });

    it('two replicas (two quota services on one store) share one count', async () => {
      const [first, second] = [callQuotas(store.rateWindows, () => clock), callQuotas(store.rateWindows, () => clock)];
      const shop = upstream('ups_shop', { rate_limit: { calls: 3, per_seconds: 60 } });
      const outcomes = await Promise.all([first, second, first, second].map((quotas) => quotas.take(shop, 'search', 'user_ann')));
      assert.equal(outcomes.filter((outcome) => outcome === undefined).length, 3);
      assert.equal(outcomes.filter((outcome) => outcome !== undefined).length, 1);
    });
  });
}
