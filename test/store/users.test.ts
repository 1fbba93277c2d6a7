import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { UserRecord } from '../../src/store/index.js';
import { backends, openTestStore } from '../helpers/backends.js';

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return { id: 'usr_1', username: 'ada', passwordHash: 'h', isAdmin: true, disabledAt: null, createdAt: 1, updatedAt: 1, source: 'local', externalIssuer: null, externalSubject: null, groups: [], ...overrides };
}

for (const backend of backends) {
  describe(`user store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('creates a user and finds it by id and by username', async () => {
      const ada = user();
      await store.users.create(ada);
      assert.deepEqual(await store.users.findById('usr_1'), ada);
      assert.deepEqual(await store.users.findByUsername('ada'), ada);
      assert.equal(await store.users.count(), 1);
    });

    it('answers undefined for an unknown id or username', async () => {
      assert.equal(await store.users.findById('usr_none'), undefined);
      assert.equal(await store.users.findByUsername('nobody'), undefined);
      assert.equal(await store.users.count(), 0);
    });

    it('refuses a second user with a taken username', async () => {
      await store.users.create(user());
      await assert.rejects(store.users.create(user({ id: 'usr_2' })));
      assert.equal(await store.users.count(), 1);
    });

    it('lists users oldest first and keeps the admin flag as a boolean', async () => {
      await store.users.create(user({ id: 'usr_b', username: 'bob', isAdmin: false, createdAt: 20, updatedAt: 20 }));
      await store.users.create(user({ id: 'usr_a', username: 'ada', createdAt: 10, updatedAt: 10 }));
      const listed = await store.users.list();
      assert.deepEqual(listed.map((u) => [u.username, u.isAdmin]), [['ada', true], ['bob', false]]);
      assert.equal(await store.users.count(), 2);
    });

    it('updates the password hash and says whether the user existed', async () => {
      await store.users.create(user());
      assert.equal(await store.users.updatePasswordHash('usr_1', 'h2', 5), true);
      assert.equal(await store.users.updatePasswordHash('usr_none', 'h3', 6), false);
      const updated = (await store.users.findById('usr_1'))!;
      assert.equal(updated.passwordHash, 'h2');
      assert.equal(updated.updatedAt, 5);
    });

    it('disables and re-enables a user', async () => {
      await store.users.create(user());
      assert.equal(await store.users.setDisabled('usr_1', 7, 7), true);
      assert.equal((await store.users.findById('usr_1'))!.disabledAt, 7);
      assert.equal(await store.users.setDisabled('usr_1', null, 8), true);
      assert.equal((await store.users.findById('usr_1'))!.disabledAt, null);
      assert.equal(await store.users.setDisabled('usr_none', 9, 9), false);
    });

    it('finds an SSO user by its (issuer, subject) identity, never another issuer\'s same subject', async () => {
      const sso = user({ id: 'usr_s', username: 'ada-okta', source: 'sso:okta', externalIssuer: 'https://idp.example', externalSubject: 'sub-1', groups: ['eng'] });
      await store.users.create(user());
      await store.users.create(sso);
      assert.deepEqual(await store.users.findByExternalIdentity('https://idp.example', 'sub-1'), sso);
      assert.equal(await store.users.findByExternalIdentity('https://other.example', 'sub-1'), undefined);
    });

    it('refuses a second user with the same external identity', async () => {
      await store.users.create(user({ externalIssuer: 'https://idp.example', externalSubject: 'sub-1' }));
      await assert.rejects(store.users.create(user({ id: 'usr_2', username: 'bob', externalIssuer: 'https://idp.example', externalSubject: 'sub-1' })));
    });

    it('stores local users without groups or external identity, and updates what the IdP says', async () => {
      await store.users.create({ id: 'usr_1', username: 'ada', passwordHash: 'h', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
      const local = (await store.users.findById('usr_1'))!;
      assert.deepEqual([local.source, local.externalIssuer, local.externalSubject, local.groups], ['local', null, null, []]);
      assert.equal(await store.users.updateIdentityProviderFacts('usr_1', { groups: ['ops', 'eng'], isAdmin: true }, 9), true);
      const updated = (await store.users.findById('usr_1'))!;
      assert.deepEqual([updated.groups, updated.isAdmin, updated.updatedAt], [['ops', 'eng'], true, 9]);
    });

    it('hands out a pending SSO sign-in once, and not after it expired', async () => {
      const signIn = { browserHash: 'b1', providerId: 'okta', sealed: 's', createdAt: 1, expiresAt: 100 };
      await store.ssoSignIns.put(signIn);
      await store.ssoSignIns.put({ ...signIn, sealed: 's2' });
      assert.deepEqual(await store.ssoSignIns.consume('b1', 50), { ...signIn, sealed: 's2' });
      assert.equal(await store.ssoSignIns.consume('b1', 50), undefined);
      await store.ssoSignIns.put({ ...signIn, browserHash: 'b2' });
      assert.equal(await store.ssoSignIns.consume('b2', 100), undefined);
      assert.equal(await store.retention.deleteExpiredSsoSignIns(100, 10), 1);
    });
  });
}
