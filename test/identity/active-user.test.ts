import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findActiveUser, isActiveUser } from '../../src/identity/active-user.js';
import type { UserRecord } from '../../src/store/index.js';

const user: UserRecord = {
  id: 'usr_1',
  username: 'kim',
  passwordHash: 'scrypt$unused',
  isAdmin: false,
  disabledAt: null,
  createdAt: 1_000,
  updatedAt: 1_000,
  source: 'local',
  groups: [],
  externalIssuer: null,
  externalSubject: null,
};
const users = (known: UserRecord[]) => ({ findById: async (id: string) => known.find((each) => each.id === id) });

describe('active user', () => {
  it('an enabled user is active; a disabled or missing one is not', () => {
    assert.equal(isActiveUser(user), true);
    assert.equal(isActiveUser({ ...user, disabledAt: 2_000 }), false);
    assert.equal(isActiveUser(undefined), false);
  });

  it('finds an enabled user by id, and nothing for a disabled or deleted one', async () => {
    assert.deepEqual(await findActiveUser(users([user]), 'usr_1'), user);
    assert.equal(await findActiveUser(users([{ ...user, disabledAt: 2_000 }]), 'usr_1'), undefined);
    assert.equal(await findActiveUser(users([]), 'usr_1'), undefined);
  });
});
