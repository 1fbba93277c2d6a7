import { CREDENTIALS_CHANNEL, type LocalCredentialChanges } from '../store/index.js';
import { notifiedCache, type NotifiedCache, type NotifiedCacheOptions } from '../store/notified-cache.js';

/**
 * Verified credentials (an API key with its user, a grant with its user) kept in this process for a short while
 * (store/notified-cache.ts). Every write that can end a credential announces itself (store/credential-changes.ts):
 * this process empties its cache before the write's promise resolves, and every other process empties its own when
 * it hears the `credentials` channel, so a revocation takes effect fleet-wide within the delivery time of a NOTIFY.
 */
export type CredentialCache = NotifiedCache;

export interface CredentialCacheOptions extends Omit<NotifiedCacheOptions, 'channel' | 'localChanges'> {
  /** This process's own changes, heard before their NOTIFY comes back. */
  localChanges: LocalCredentialChanges;
}

export const credentialCache = (options: CredentialCacheOptions): CredentialCache => notifiedCache({ ...options, channel: CREDENTIALS_CHANNEL });

/** No caching: every lookup loads (tests, tools, and anything built without a cache). */
export const uncached: Pick<CredentialCache, 'get'> = { get: (_key, load) => load() };
