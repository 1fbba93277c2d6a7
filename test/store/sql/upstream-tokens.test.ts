import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { UpstreamTokenRecord } from '../../../src/store/index.js';
import { backends, openTestStore } from '../../helpers/backends.js';

type Fresh = Parameters<Awaited<ReturnType<typeof openTestStore>>['upstreamTokens']['put']>[0];

function tokens(upstreamId: string, subject: string, patch: Partial<Fresh> = {}): Fresh {
  return { upstreamId, subject, issuer: 'https://as.example', sealed: 'v1.a', expiresAt: 5000, status: 'active', reason: null, updatedAt: 10, ...patch };
}

const patch = (sealed: string, updatedAt = 20): Pick<UpstreamTokenRecord, 'sealed' | 'expiresAt' | 'status' | 'reason' | 'updatedAt'> => ({
  sealed,
  expiresAt: 9000,
  status: 'active',
  reason: null,
  updatedAt,
});

for (const backend of backends) {
  describe(`upstream token store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('put inserts at version 1 and returns the stored record', async () => {
      const stored = await store.upstreamTokens.put(tokens('ups_a', ''));
      assert.deepEqual(stored, { ...tokens('ups_a', ''), version: 1, leaseUntil: null, createdAt: 10 });
      assert.deepEqual(await store.upstreamTokens.find('ups_a', ''), stored);
      assert.equal(await store.upstreamTokens.find('ups_a', 'usr_a'), undefined);
    });

    it('put over an existing row replaces it, bumps the version and clears the lease', async () => {
      await store.upstreamTokens.put(tokens('ups_a', 'usr_a', { status: 'needs_auth', reason: 'revoked' }));
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', 'usr_a', 1, 500, 10), true);
      const stored = await store.upstreamTokens.put(tokens('ups_a', 'usr_a', { sealed: 'v1.b', updatedAt: 30 }));
      assert.deepEqual(stored, { ...tokens('ups_a', 'usr_a', { sealed: 'v1.b', updatedAt: 30 }), version: 2, leaseUntil: null, createdAt: 30 });
    });

    it('replace writes only at the expected version, bumping it and clearing the lease', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, 500, 10), true);
      assert.equal(await store.upstreamTokens.replace('ups_a', '', 1, patch('v1.b')), true);
      assert.deepEqual(await store.upstreamTokens.find('ups_a', ''), {
        ...tokens('ups_a', ''),
        ...patch('v1.b'),
        version: 2,
        leaseUntil: null,
        createdAt: 10,
      });
      assert.equal(await store.upstreamTokens.replace('ups_a', '', 1, patch('v1.stale')), false);
      assert.equal((await store.upstreamTokens.find('ups_a', ''))!.sealed, 'v1.b');
    });

    it('of two concurrent replaces at one version exactly one wins', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      const results = await Promise.all([store.upstreamTokens.replace('ups_a', '', 1, patch('v1.x')), store.upstreamTokens.replace('ups_a', '', 1, patch('v1.y'))]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal((await store.upstreamTokens.find('ups_a', ''))!.version, 2);
    });

    it('a lease excludes a second holder until it expires', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, 500, 10), true);
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, 600, 100), false);
      assert.equal((await store.upstreamTokens.find('ups_a', ''))!.leaseUntil, 500);
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, 900, 500), true);
      assert.equal((await store.upstreamTokens.find('ups_a', ''))!.leaseUntil, 900);
    });

    it('of two concurrent lease requests exactly one gets it', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      const results = await Promise.all([
        store.upstreamTokens.acquireLease('ups_a', '', 1, 500, 10),
        store.upstreamTokens.acquireLease('ups_a', '', 1, 500, 10),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
    });

    it('no lease at a stale version', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      await store.upstreamTokens.put(tokens('ups_a', ''));
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, 500, 10), false);
    });

    it('releaseLease drops the lease at that version only and changes nothing else', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      await store.upstreamTokens.acquireLease('ups_a', '', 1, 500, 10);
      await store.upstreamTokens.releaseLease('ups_a', '', 2);
      assert.equal((await store.upstreamTokens.find('ups_a', ''))!.leaseUntil, 500);
      await store.upstreamTokens.releaseLease('ups_a', '', 1);
      const row = await store.upstreamTokens.find('ups_a', '');
      assert.equal(row!.leaseUntil, null);
      assert.equal(row!.version, 1);
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, 700, 20), true);
    });

    it('lists by upstream and by subject', async () => {
      await store.upstreamTokens.put(tokens('ups_b', 'usr_a'));
      await store.upstreamTokens.put(tokens('ups_a', 'usr_a'));
      await store.upstreamTokens.put(tokens('ups_a', ''));
      await store.upstreamTokens.put(tokens('ups_b', 'usr_b'));
      assert.deepEqual((await store.upstreamTokens.listForSubject('usr_a')).map((r) => r.upstreamId), ['ups_a', 'ups_b']);
      assert.deepEqual((await store.upstreamTokens.listForUpstream('ups_a')).map((r) => r.subject), ['', 'usr_a']);
      assert.deepEqual(await store.upstreamTokens.listForSubject('usr_none'), []);
    });

    it('lists the active connections authorized since a time, oldest first; a refresh does not make one new', async () => {
      await store.upstreamTokens.put(tokens('ups_a', 'usr_old', { updatedAt: 5 }));
      await store.upstreamTokens.put(tokens('ups_a', 'usr_b', { updatedAt: 30 }));
      await store.upstreamTokens.put(tokens('ups_b', 'usr_a', { updatedAt: 20 }));
      await store.upstreamTokens.put(tokens('ups_b', 'usr_lost', { updatedAt: 25, status: 'needs_auth', reason: 'revoked' }));
      assert.equal(await store.upstreamTokens.replace('ups_a', 'usr_old', 1, patch('v1.refreshed', 40)), true);
      const since = await store.upstreamTokens.listAuthorizedSince(10, 100);
      assert.deepEqual(since.map((r) => `${r.upstreamId}/${r.subject}`), ['ups_b/usr_a', 'ups_a/usr_b']);
      assert.equal((await store.upstreamTokens.listAuthorizedSince(10, 1)).length, 1);
    });

    it('delete removes one connection; deleteForUpstream counts what it removed', async () => {
      await store.upstreamTokens.put(tokens('ups_a', ''));
      await store.upstreamTokens.put(tokens('ups_a', 'usr_a'));
      await store.upstreamTokens.put(tokens('ups_a', 'usr_b'));
      await store.upstreamTokens.put(tokens('ups_b', 'usr_a'));
      assert.equal(await store.upstreamTokens.delete('ups_a', ''), true);
      assert.equal(await store.upstreamTokens.delete('ups_a', ''), false);
      assert.equal(await store.upstreamTokens.deleteForUpstream('ups_a'), 2);
      assert.deepEqual((await store.upstreamTokens.listForSubject('usr_a')).map((r) => r.upstreamId), ['ups_b']);
    });
  });
}
