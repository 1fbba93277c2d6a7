import type { KeyedHasher } from '../crypto/keyed-hash.js';
import { hasTokenShape, issueToken, newId } from '../crypto/random.js';
import type { ApiKeyRecord, Store, UserRecord } from '../store/index.js';
import { uncached, type CredentialCache } from './credential-cache.js';
import { findActiveUser } from './active-user.js';

/** Characters of the key kept for display: the `gth_ak_` prefix and a few random ones, never enough to guess it. */
export const API_KEY_HINT_LENGTH = 12;

/** Writing last_used_at on every request would turn each API call into a write; once a minute is precise enough. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyService {
  /** Issues a key for the user; the plaintext `token` exists only in this return value. */
  create(input: { user: UserRecord; name: string }): Promise<{ record: ApiKeyRecord; token: string }>;
  list(): Promise<ApiKeyRecord[]>;
  /** False when no key has this id; revoking a revoked key is a no-op that still answers true. */
  revoke(id: string): Promise<boolean>;
  /**
   * The live key and its enabled user, or undefined for anything else (unknown, malformed, revoked, disabled). Read
   * through the credential cache: a revocation anywhere in the fleet empties it (identity/credential-cache.ts).
   */
  authenticate(token: string): Promise<{ key: ApiKeyRecord; user: UserRecord } | undefined>;
}

export function apiKeyService(
  store: Pick<Store, 'apiKeys' | 'users'>,
  tokenHasher: KeyedHasher,
  now: () => number = Date.now,
  cache: Pick<CredentialCache, 'get'> = uncached,
): ApiKeyService {
  const findByToken = async (token: string) => {
    // Newest pepper first, so a key stored under an older pepper is still found after a rotation.
    for (const candidate of tokenHasher.candidates(token)) {
      const key = await store.apiKeys.findByTokenHash(candidate);
      if (key) return key;
    }
    return undefined;
  };

  const findLive = async (token: string) => {
    const key = await findByToken(token);
    if (!key || key.revokedAt !== null) return undefined;
    const user = await findActiveUser(store.users, key.userId);
    return user && { key, user };
  };

  return {
    async create({ user, name }) {
      const token = issueToken('apiKey');
      const record: ApiKeyRecord = {
        id: newId('key'),
        userId: user.id,
        name,
        tokenHash: tokenHasher.hash(token),
        hint: token.slice(0, API_KEY_HINT_LENGTH),
        createdAt: now(),
        lastUsedAt: null,
        revokedAt: null,
      };
      await store.apiKeys.create(record);
      return { record, token };
    },
    list: () => store.apiKeys.list(),
    async revoke(id) {
      if (!(await store.apiKeys.findById(id))) return false;
      await store.apiKeys.revoke(id, now());
      return true;
    },
    async authenticate(token) {
      // A value that cannot be a key costs no database round trip.
      if (!hasTokenShape(token, 'apiKey')) return undefined;
      // Keyed by the key itself (memory of this process only): a hit costs no HMAC, a miss hashes once (findByToken).
      const found = await cache.get(`api_key:${token}`, () => findLive(token));
      if (!found) return undefined;
      const at = now();
      // The cached record carries the last write, so the requests of the next minute skip it.
      if (found.key.lastUsedAt === null || at - found.key.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
        found.key.lastUsedAt = at;
        await store.apiKeys.touch(found.key.id, at);
      }
      return found;
    },
  };
}
