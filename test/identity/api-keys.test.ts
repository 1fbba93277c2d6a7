import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { keyedHasher } from '../../src/crypto/keyed-hash.js';
import { hasTokenShape } from '../../src/crypto/random.js';
import { API_KEY_HINT_LENGTH, apiKeyService, LAST_USED_RESOLUTION_MS } from '../../src/identity/api-keys.js';
import { userService } from '../../src/identity/users.js';
import type { UserRecord } from '../../src/store/index.js';
import { backends, openTestStore } from '../helpers/backends.js';

const pepper = (version: number) => ({ version, key: randomBytes(32) });

for (const backend of backends) {
  describe(`API key service on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let user: UserRecord;
    const v1 = pepper(1);
    let clock = 1_000_000;
    const now = () => clock;
    const service = () => apiKeyService(store, keyedHasher([v1]), now);

    before(async () => {
      store = await openTestStore(backend);
      user = await userService(store).create({ username: 'kim', password: 'kims-password' });
    });
    after(() => store.close());

    it('a new key is gth_ak_ plus 256 random bits, and only its keyed hash and a short hint are stored', async () => {
      const { record, token } = await service().create({ user, name: 'ci' });
      assert.ok(hasTokenShape(token, 'apiKey'));
      assert.equal(record.hint, token.slice(0, API_KEY_HINT_LENGTH));
      const stored = await store.apiKeys.findById(record.id);
      assert.ok(stored);
      assert.equal(stored.tokenHash, keyedHasher([v1]).hash(token));
      assert.ok(!JSON.stringify(stored).includes(token.slice(API_KEY_HINT_LENGTH)), 'no part of the key beyond the hint is stored');
    });

    it('a key authenticates its user and records when it was used', async () => {
      const { record, token } = await service().create({ user, name: 'ci' });
      const found = await service().authenticate(token);
      assert.equal(found?.user.id, user.id);
      assert.equal(found?.key.id, record.id);
      assert.equal((await store.apiKeys.findById(record.id))?.lastUsedAt, clock);
    });

    it('last use is written at most once a minute', async () => {
      const { record, token } = await service().create({ user, name: 'busy' });
      const first = clock;
      await service().authenticate(token);
      clock += LAST_USED_RESOLUTION_MS - 1;
      await service().authenticate(token);
      assert.equal((await store.apiKeys.findById(record.id))?.lastUsedAt, first);
      clock += 1;
      await service().authenticate(token);
      assert.equal((await store.apiKeys.findById(record.id))?.lastUsedAt, clock);
    });

    it('a revoked key stops authenticating at once', async () => {
      const { record, token } = await service().create({ user, name: 'old' });
      assert.ok(await service().authenticate(token));
      assert.equal(await service().revoke(record.id), true);
      assert.equal(await service().authenticate(token), undefined);
      assert.equal(await service().revoke(record.id), true, 'revoking twice still succeeds');
    });

    it('revoking an unknown id answers false', async () => {
      assert.equal(await service().revoke('key_unknown'), false);
    });

    it('a key of a disabled user does not authenticate', async () => {
      const other = await userService(store).create({ username: 'leaver', password: 'leavers-password' });
      const { token } = await service().create({ user: other, name: 'theirs' });
      assert.ok(await service().authenticate(token));
      await userService(store).disable('leaver');
      assert.equal(await service().authenticate(token), undefined);
    });

    it('unknown keys and values that are not keys do not authenticate', async () => {
      const { token } = await service().create({ user, name: 'real' });
      const unknown = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      for (const value of [unknown, '', 'gth_ak_', token.slice(0, -1), `${token}x`, 'gth_bs_' + token.slice(7)]) {
        assert.equal(await service().authenticate(value), undefined, value);
      }
    });

    it('a key stored under an older pepper is still found after the pepper rotates', async () => {
      const { token } = await service().create({ user, name: 'before rotation' });
      const rotated = apiKeyService(store, keyedHasher([pepper(2), v1]), now);
      assert.equal((await rotated.authenticate(token))?.user.id, user.id);
    });

    it('a key found in the credential cache is not hashed again; a miss hashes it once', async () => {
      const { token } = await service().create({ user, name: 'cached' });
      const hasher = keyedHasher([v1]);
      let hashed = 0;
      const counting = { hash: (secret: string) => (hashed++, hasher.hash(secret)), candidates: (secret: string) => (hashed++, hasher.candidates(secret)) };
      const entries = new Map<string, object>();
      const cache = { get: async <T extends object>(key: string, load: () => Promise<T | undefined>) => (entries.get(key) as T | undefined) ?? load().then((value) => (value && entries.set(key, value), value)) };
      const cached = apiKeyService(store, counting, now, cache);
      assert.ok(await cached.authenticate(token));
      assert.equal(hashed, 1);
      assert.ok(await cached.authenticate(token));
      assert.equal(hashed, 1);
    });

    it('lists every key, revoked ones included', async () => {
      const keys = await service().list();
      assert.ok(keys.length >= 7);
      assert.ok(keys.some((key) => key.revokedAt !== null));
    });
  });
}
