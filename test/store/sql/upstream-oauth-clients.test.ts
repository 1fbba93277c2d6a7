import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { UpstreamOAuthClientRecord } from '../../../src/store/index.js';
import { backends, openTestStore } from '../../helpers/backends.js';

function client(upstreamId: string, issuer: string, patch: Partial<UpstreamOAuthClientRecord> = {}): UpstreamOAuthClientRecord {
  return { upstreamId, issuer, clientId: 'cid', sealedSecret: null, authMethod: 'none', source: 'dynamic', createdAt: 1, ...patch };
}

for (const backend of backends) {
  describe(`upstream OAuth client store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('finds a registration by upstream and issuer only', async () => {
      const record = client('ups_a', 'https://as1.example', { sealedSecret: 'v1.sealed', authMethod: 'client_secret_basic' });
      await store.upstreamOAuthClients.save(record);
      assert.deepEqual(await store.upstreamOAuthClients.find('ups_a', 'https://as1.example'), record);
      assert.equal(await store.upstreamOAuthClients.find('ups_a', 'https://as2.example'), undefined);
      assert.equal(await store.upstreamOAuthClients.find('ups_b', 'https://as1.example'), undefined);
    });

    it('saving again for the same upstream and issuer replaces the registration', async () => {
      await store.upstreamOAuthClients.save(client('ups_a', 'https://as1.example'));
      const replacement = client('ups_a', 'https://as1.example', { clientId: 'cid2', source: 'configured', authMethod: 'client_secret_post', sealedSecret: 's', createdAt: 5 });
      await store.upstreamOAuthClients.save(replacement);
      assert.deepEqual(await store.upstreamOAuthClients.find('ups_a', 'https://as1.example'), replacement);
    });

    it('delete removes one registration; deleteForUpstream counts what it removed', async () => {
      await store.upstreamOAuthClients.save(client('ups_a', 'https://as1.example'));
      await store.upstreamOAuthClients.save(client('ups_a', 'https://as2.example'));
      await store.upstreamOAuthClients.save(client('ups_a', 'https://as3.example'));
      await store.upstreamOAuthClients.save(client('ups_b', 'https://as1.example'));
      assert.equal(await store.upstreamOAuthClients.delete('ups_a', 'https://as1.example'), true);
      assert.equal(await store.upstreamOAuthClients.delete('ups_a', 'https://as1.example'), false);
      assert.equal(await store.upstreamOAuthClients.deleteForUpstream('ups_a'), 2);
      assert.equal(await store.upstreamOAuthClients.find('ups_a', 'https://as2.example'), undefined);
      assert.ok(await store.upstreamOAuthClients.find('ups_b', 'https://as1.example'));
    });
  });
}
