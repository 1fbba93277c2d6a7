import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKeyRecord, SigningKeyStore } from '../store/index.js';
import { open, seal } from './aead.js';

export const SIGNING_ALG = 'ES256' as const;

/** Replicas see a rotation made elsewhere within this long, without a database read per token. */
export const KEY_CACHE_MS = 5_000;

export interface SigningKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  /** A node:crypto key: signing is synchronous (see jws.ts); jose accepts it too. */
  privateKey: KeyObject;
}

/** What `gatehouse keys list` shows: never private material. */
export interface SigningKeyInfo {
  kid: string;
  alg: string;
  state: SigningKeyRecord['state'];
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** When a retired key leaves the JWKS (its last token has expired); null while it is not retired. */
  expiresAt: number | null;
}

export interface RotationResult {
  /** The key that signs from now on (unchanged when there was no published next key to promote). */
  current: string;
  /** The key published now, which will sign after the following rotation. */
  next: string;
  retired: string[];
  /** Retired keys whose tokens had all expired, removed from the table. */
  deleted: string[];
}

/**
 * The access-token signing keys (ES256), stored with the private half sealed under the master key.
 * States: `next` is published but does not sign yet, so verifiers caching the JWKS know it before its
 * first token; `current` signs; `retired` stays published until every token it signed has expired.
 */
export interface SigningKeyRing {
  /** The key that signs now; the first call on an empty table creates one. */
  signingKey(): Promise<SigningKey>;
  /** The public key for `kid` if it is published (next, current or unexpired retired). */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** The public JWKS: next, current and unexpired retired keys. */
  publicJwks(): Promise<{ keys: JWK[] }>;
  /** Promotes the published next key (if any) to current, retires the old current, publishes a new next. */
  rotate(): Promise<RotationResult>;
  list(): Promise<SigningKeyInfo[]>;
}

export interface SigningKeyRingDeps {
  store: SigningKeyStore;
  encryptionKey: Buffer;
  /** How long a retired key stays verifiable: the access-token lifetime plus clock skew. */
  retiredKeyLifetimeMs: number;
}

const sealContext = (kid: string) => `signing-key:${kid}`;

export function signingKeyRing(deps: SigningKeyRingDeps, now: () => number = Date.now): SigningKeyRing {
  const { store, encryptionKey, retiredKeyLifetimeMs } = deps;
  // Imported keys never change for a kid, so they are kept for the life of the process.
  const imported = new Map<string, Promise<CryptoKey>>();
  const privateKeys = new Map<string, KeyObject>();
  let cache: { at: number; rows: SigningKeyRecord[] } | undefined;
  let loading: Promise<SigningKeyRecord[]> | undefined;

  const retiredUntil = (row: SigningKeyRecord) => (row.retiredAt === null ? null : row.retiredAt + retiredKeyLifetimeMs);
  const isPublished = (row: SigningKeyRecord, at: number) => row.state !== 'retired' || (retiredUntil(row) ?? 0) > at;

  async function createKey(state: 'next' | 'current', at: number): Promise<SigningKeyRecord> {
    const kid = randomBytes(16).toString('base64url');
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG };
    const row: SigningKeyRecord = {
      kid,
      alg: SIGNING_ALG,
      publicJwk: JSON.stringify(publicJwk),
      sealedPrivateJwk: seal(encryptionKey, JSON.stringify(privateJwk), sealContext(kid)),
      state,
      createdAt: at,
      activatedAt: state === 'current' ? at : null,
      retiredAt: null,
    };
    await store.create(row);
    return row;
  }

  /**
   * Two replicas starting on an empty table may each create a current key; both stay published, and every
   * replica signs with the same one: the latest activated, then the greatest kid.
   */
  function pickCurrent(rows: SigningKeyRecord[]): SigningKeyRecord | undefined {
    const currents = rows.filter((row) => row.state === 'current');
    currents.sort((a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0) || (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0));
    return currents[0];
  }

  async function loadFromStore(): Promise<SigningKeyRecord[]> {
    let rows = await store.list();
    if (!pickCurrent(rows)) {
      await createKey('current', now());
      rows = await store.list();
    }
    cache = { at: now(), rows };
    return rows;
  }

  async function rows(): Promise<SigningKeyRecord[]> {
    if (cache && now() - cache.at < KEY_CACHE_MS) return cache.rows;
    // Concurrent requests after expiry share one read.
    loading ??= loadFromStore().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  function importPublicOnce(row: SigningKeyRecord): Promise<CryptoKey> {
    let key = imported.get(row.kid);
    if (!key) {
      key = importJWK(JSON.parse(row.publicJwk) as JWK, row.alg) as Promise<CryptoKey>;
      key.catch(() => imported.delete(row.kid));
      imported.set(row.kid, key);
    }
    return key;
  }

  function importPrivateOnce(row: SigningKeyRecord): KeyObject {
    let key = privateKeys.get(row.kid);
    if (!key) {
      const jwk = JSON.parse(open(encryptionKey, row.sealedPrivateJwk, sealContext(row.kid))) as JWK & { kty: string };
      key = createPrivateKey({ key: jwk, format: 'jwk' });
      privateKeys.set(row.kid, key);
    }
    return key;
  }

  return {
    async signingKey() {
      const current = pickCurrent(await rows());
      if (!current) throw new Error('no current signing key');
      if (current.alg !== SIGNING_ALG) throw new Error(`signing key ${current.kid} is ${current.alg}, not ${SIGNING_ALG}`);
      return { kid: current.kid, alg: SIGNING_ALG, privateKey: importPrivateOnce(current) };
    },

    async verificationKey(kid) {
      const row = (await rows()).find((candidate) => candidate.kid === kid);
      return row && isPublished(row, now()) ? importPublicOnce(row) : undefined;
    },

    async publicJwks() {
      const at = now();
      return { keys: (await rows()).filter((row) => isPublished(row, at)).map((row) => JSON.parse(row.publicJwk) as JWK) };
    },

    async rotate() {
      const at = now();
      const before = await loadFromStore();
      const next = before.find((row) => row.state === 'next');
      const retired: string[] = [];
      if (next) {
        // Activate first, then retire: at every instant some key is current.
        await store.setState(next.kid, 'current', at);
        for (const row of before.filter((candidate) => candidate.state === 'current')) {
          await store.setState(row.kid, 'retired', at);
          retired.push(row.kid);
        }
      }
      const deleted: string[] = [];
      for (const row of before.filter((candidate) => candidate.state === 'retired' && !isPublished(candidate, at))) {
        await store.delete(row.kid);
        deleted.push(row.kid);
      }
      const published = await createKey('next', at);
      cache = undefined;
      const current = next?.kid ?? pickCurrent(before)!.kid;
      return { current, next: published.kid, retired, deleted };
    },

    async list() {
      // Read as stored: listing never creates a key.
      return (await store.list()).map((row) => ({
        kid: row.kid,
        alg: row.alg,
        state: row.state,
        createdAt: row.createdAt,
        activatedAt: row.activatedAt,
        retiredAt: row.retiredAt,
        expiresAt: retiredUntil(row),
      }));
    },
  };
}
