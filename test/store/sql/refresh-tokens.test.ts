import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { GrantRecord, RefreshTokenRecord } from '../../../src/store/index.js';
import { grantTouchDue } from '../../../src/store/sql/grants.js';
import { findRefreshTokenWithGrant } from '../../../src/store/sql/refresh-tokens.js';
import { backends, createTestUsers, openTestStore } from '../../helpers/backends.js';

const grant: GrantRecord = {
  id: 'grt_1',
  userId: 'usr_1',
  clientId: 'cli_1',
  scope: 'mcp:read mcp:write',
  resource: 'https://gate.example.com/mcp',
  createdAt: 1_000,
  expiresAt: 9_000_000_000_000,
  lastUsedAt: 2_000,
  revokedAt: 3_000,
  revokedReason: 'a reason',
};
const token: RefreshTokenRecord = {
  tokenHash: 'p1.hash',
  grantId: 'grt_1',
  scope: 'mcp:read',
  createdAt: 1_500,
  expiresAt: 8_000_000_000_000,
  rotatedAt: 2_500,
  replayResponse: 'v1.sealed',
};

for (const backend of backends) {
  describe(`refresh token with its grant on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_1', 'alice']]);
      await store.grants.create(grant);
      await store.refreshTokens.create(token);
    });
    afterEach(() => store.close());

    it('reads the token and its grant in one query, every field as the stores read them', async () => {
      const found = await findRefreshTokenWithGrant(store.database, 'p1.hash');
      assert.deepEqual(found, { token: await store.refreshTokens.find('p1.hash'), grant: await store.grants.find('grt_1') });
      assert.deepEqual(found, { token, grant });
    });

    it('an unknown hash finds nothing', async () => {
      assert.equal(await findRefreshTokenWithGrant(store.database, 'p1.other'), undefined);
    });
  });
}

it('a grant touch is due when it was never used or last used over a minute ago', () => {
  assert.equal(grantTouchDue(null, 100_000), true);
  assert.equal(grantTouchDue(39_999, 100_000), true);
  assert.equal(grantTouchDue(40_000, 100_000), false);
  assert.equal(grantTouchDue(99_000, 100_000), false);
});
