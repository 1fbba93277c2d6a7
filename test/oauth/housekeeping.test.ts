import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sweepExpiredFlows } from '../../src/oauth/housekeeping.js';
import { backends, openTestStore } from '../helpers/backends.js';

const flow = (id: string, expiresAt: number) => ({
  id,
  browserHash: 'b',
  csrfHash: 'c',
  clientId: 'cli_x',
  redirectUri: 'http://127.0.0.1/cb',
  scope: 'mcp:read',
  resource: 'http://127.0.0.1:8080/mcp',
  state: null,
  codeChallenge: 'x'.repeat(43),
  prompt: null,
  createdAt: 0,
  expiresAt,
  completedAt: null,
});

for (const backend of backends) {
  describe(`housekeeping on ${backend}`, () => {
    it('the sweep deletes expired pending flows and keeps live ones', async () => {
      const store = await openTestStore(backend);
      try {
        await store.flows.create(flow('flow_old', 1_000));
        await store.flows.create(flow('flow_live', 10_000));
        assert.equal(await sweepExpiredFlows({ store }, 5_000), 1);
        assert.equal(await store.flows.find('flow_old'), undefined);
        assert.ok(await store.flows.find('flow_live'));
      } finally {
        await store.close();
      }
    });
  });
}
