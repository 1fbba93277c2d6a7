import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backends, openTestStore } from '../helpers/backends.js';

for (const backend of backends) {
  describe(`ID-JAG replay and SSO identity token stores on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('remembers a jti once per issuer: the second redemption is refused, another issuer\u2019s same jti is not', async () => {
      assert.equal(await store.idJagAssertions.remember('https://idp.example', 'j-1', 5000), true);
      assert.equal(await store.idJagAssertions.remember('https://idp.example', 'j-1', 5000), false);
      assert.equal(await store.idJagAssertions.remember('https://other.example', 'j-1', 5000), true);
    });

    it('of concurrent redemptions of one jti, exactly one wins', async () => {
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => store.idJagAssertions.remember('https://idp.example', 'j-race', 5000)));
      assert.equal(outcomes.filter(Boolean).length, 1);
    });

    it('forgets remembered jtis after they expire (retention)', async () => {
      await store.idJagAssertions.remember('https://idp.example', 'old', 1000);
      await store.idJagAssertions.remember('https://idp.example', 'live', 9000);
      assert.equal(await store.retention.deleteExpiredIdJagAssertions(5000, 100), 1);
      assert.equal(await store.idJagAssertions.remember('https://idp.example', 'live', 9000), false);
    });

    it('keeps one set of IdP tokens per user, replaced on the next sign-in, forgotten when refused', async () => {
      await store.users.create({ id: 'usr_1', username: 'ada', passwordHash: 'x', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
      await store.ssoIdentityTokens.put({ userId: 'usr_1', providerId: 'acme', sealed: 'first', expiresAt: 100, updatedAt: 1 });
      await store.ssoIdentityTokens.put({ userId: 'usr_1', providerId: 'acme', sealed: 'second', expiresAt: 200, updatedAt: 2 });
      assert.deepEqual(await store.ssoIdentityTokens.find('usr_1'), { userId: 'usr_1', providerId: 'acme', sealed: 'second', expiresAt: 200, updatedAt: 2 });
      await store.users.create({ id: 'usr_2', username: 'bob', passwordHash: 'x', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
      await store.ssoIdentityTokens.put({ userId: 'usr_2', providerId: 'acme', sealed: 'bobs', expiresAt: 200, updatedAt: 5 });
      assert.deepEqual(await store.ssoIdentityTokens.recentUsers('acme', 5), ['usr_2', 'usr_1'], 'newest first');
      assert.deepEqual(await store.ssoIdentityTokens.recentUsers('other', 5), []);
      await store.ssoIdentityTokens.delete('usr_1');
      assert.equal(await store.ssoIdentityTokens.find('usr_1'), undefined);
    });
  });
}
