import { open, seal } from '../../crypto/aead.js';
import type { UpstreamTokenRecord, UpstreamTokenStore } from '../../store/outbound-types.js';
import { TokenRequestError, type TokenSet } from './types.js';

/**
 * Keeps upstream tokens alive: hands out a valid access token, refreshes it ahead of expiry or after a 401,
 * once per (upstream, subject) in this process (single flight) and across replicas (a lease on the row's
 * version, then a compare-and-set write), so an upstream that rotates refresh tokens never sees one used twice
 * by us. Transient failures keep the tokens; a refused grant or client marks the connection `needs_auth`.
 */
export type RefreshOutcome = 'ok' | 'refused' | 'failed';

export interface TokenVaultOptions {
  store: UpstreamTokenStore;
  /** Seals the token sets at rest; the context binds each to its upstream, subject and issuer. */
  encryptionKey: Buffer;
  /** Performs the refresh at the upstream; throws TokenRequestError. Given the record's issuer so it can refuse a mismatch. */
  refresh(upstreamId: string, issuer: string, refreshToken: string): Promise<TokenSet>;
  /** Told when a connection needs authorization again (for audit, status and events). */
  onNeedsAuth?(upstreamId: string, subject: string, reason: string): void;
  /** Told of each refresh at an upstream: it worked, the upstream refused it, or it failed for now (metrics, logs). */
  onRefresh?(upstreamId: string, subject: string, outcome: RefreshOutcome): void;
  /** Refresh this long before expiry (at most half the token's lifetime, so short-lived tokens are not refreshed on every use). */
  refreshMarginMs: number;
  /** How long a replica may hold the refresh lease; default 30 s. */
  leaseMs?: number;
  /** How often a replica waiting for another's refresh re-reads the row; default 100 ms. */
  pollMs?: number;
  /** Transient failures (network, 5xx) are retried with doubling delays; default 3 attempts from 500 ms. */
  retry?: { attempts: number; initialDelayMs: number };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** No usable tokens: the connection has to be authorized (again). `cause` is the TokenRequestError, if one led here. */
export class NeedsAuthorization extends Error {
  constructor(
    readonly upstreamId: string,
    readonly subject: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`upstream ${upstreamId} needs authorization${subject ? ` for user ${subject}` : ''}: ${reason}`, options);
    this.name = 'NeedsAuthorization';
  }
}

/** The upstream's authorization server cannot be reached now and the access token is no longer good; tokens are kept. */
export class TokensUnavailable extends Error {
  constructor(upstreamId: string, options?: ErrorOptions) {
    super(`the authorization server of upstream ${upstreamId} cannot refresh its tokens now; try again later`, options);
    this.name = 'TokensUnavailable';
  }
}

export interface ConnectionStatus {
  state: 'active' | 'needs_auth' | 'none';
  reason?: string;
  expiresAt?: number;
}

export interface TokenVault {
  /** After a code exchange: stores the tokens as the connection's, active (replacing any earlier ones). */
  save(upstreamId: string, subject: string, issuer: string, tokens: TokenSet): Promise<void>;
  /** A valid access token, refreshed first when it is within the margin of expiry. */
  accessToken(upstreamId: string, subject: string): Promise<string>;
  /** The upstream answered 401 to `staleAccessToken`: a new token, refreshed now unless someone already did. */
  invalidate(upstreamId: string, subject: string, staleAccessToken: string): Promise<string>;
  status(upstreamId: string, subject: string): Promise<ConnectionStatus>;
  /** The stored token set, opened, for the caller to revoke upstream. */
  tokens(upstreamId: string, subject: string): Promise<TokenSet | undefined>;
  /** Marks the connection as needing authorization (and tells onNeedsAuth); the tokens are kept for revocation. */
  markNeedsAuth(upstreamId: string, subject: string, reason: string): Promise<void>;
  /** Deletes the connection; returns what was stored so the caller can revoke it upstream. */
  forget(upstreamId: string, subject: string): Promise<TokenSet | undefined>;
}

const NOT_AUTHORIZED = 'not authorized yet';
const GRANT_REFUSED = 'the upstream refused the refresh token (invalid_grant); authorize again';
const CLIENT_UNKNOWN = "the upstream no longer knows Gatehouse's client registration";
const NO_REFRESH_TOKEN = 'the access token expired and the upstream gave no refresh token; authorize again';

/** Rounds of lease waiting or lost compare-and-sets before giving up for now; each round is bounded by the lease. */
const MAX_ROUNDS = 5;

const sealContext = (upstreamId: string, subject: string, issuer: string) => `upstream-tokens:${JSON.stringify([upstreamId, subject, issuer])}`;

export function createTokenVault(options: TokenVaultOptions): TokenVault {
  const { store, encryptionKey } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 100;
  const retry = options.retry ?? { attempts: 3, initialDelayMs: 500 };
  const inFlight = new Map<string, Promise<string>>();

  const openSet = (row: UpstreamTokenRecord): TokenSet =>
    JSON.parse(open(encryptionKey, row.sealed, sealContext(row.upstreamId, row.subject, row.issuer))) as TokenSet;
  const sealSet = (upstreamId: string, subject: string, issuer: string, tokens: TokenSet) =>
    seal(encryptionKey, JSON.stringify(tokens), sealContext(upstreamId, subject, issuer));

  const refreshDue = (row: UpstreamTokenRecord, at: number) => {
    if (row.expiresAt === null) return false;
    const margin = Math.min(options.refreshMarginMs, Math.max(0, (row.expiresAt - row.updatedAt) / 2));
    return at >= row.expiresAt - margin;
  };
  const expired = (row: UpstreamTokenRecord, at: number) => row.expiresAt !== null && at >= row.expiresAt;

  /** Writes needs_auth at the row's version; false when someone wrote first (the caller re-reads). */
  async function markAt(row: UpstreamTokenRecord, reason: string): Promise<boolean> {
    const patch = { sealed: row.sealed, expiresAt: row.expiresAt, status: 'needs_auth' as const, reason, updatedAt: now() };
    if (!(await store.replace(row.upstreamId, row.subject, row.version, patch))) return false;
    options.onNeedsAuth?.(row.upstreamId, row.subject, reason);
    return true;
  }

  /** The refresh itself, transient failures retried with doubling delays while this replica holds the lease. */
  async function refreshWithRetry(row: UpstreamTokenRecord, refreshToken: string): Promise<TokenSet> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await options.refresh(row.upstreamId, row.issuer, refreshToken);
      } catch (error) {
        if (!(error instanceof TokenRequestError && error.kind === 'transient') || attempt >= retry.attempts) throw error;
        await sleep(retry.initialDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  /** Waits while another replica holds the lease on this version: until it writes, releases, or its lease runs out. */
  async function waitForOtherReplica(row: UpstreamTokenRecord): Promise<void> {
    for (;;) {
      await sleep(pollMs);
      const current = await store.find(row.upstreamId, row.subject);
      if (!current || current.version !== row.version || current.leaseUntil === null || current.leaseUntil <= now()) return;
    }
  }

  /**
   * Gets a token that is not `stale` (after a 401) or, without `stale`, one not due for refresh: re-reads the row,
   * refreshes under the lease when nobody else has, and loops when another replica got there first.
   */
  async function renew(upstreamId: string, subject: string, stale?: string): Promise<string> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await store.find(upstreamId, subject);
      if (!row) throw new NeedsAuthorization(upstreamId, subject, NOT_AUTHORIZED);
      if (row.status === 'needs_auth') throw new NeedsAuthorization(upstreamId, subject, row.reason ?? NOT_AUTHORIZED);
      const current = openSet(row);
      const usable = stale === undefined ? !refreshDue(row, now()) : current.accessToken !== stale;
      if (usable) return current.accessToken;

      if (!current.refreshToken) {
        // Not expired yet: still good to use until it is (unless the upstream has just refused it).
        if (stale === undefined && !expired(row, now())) return current.accessToken;
        if (await markAt(row, NO_REFRESH_TOKEN)) throw new NeedsAuthorization(upstreamId, subject, NO_REFRESH_TOKEN);
        continue;
      }

      if (!(await store.acquireLease(upstreamId, subject, row.version, now() + leaseMs, now()))) {
        await waitForOtherReplica(row);
        continue;
      }

      let fresh: TokenSet;
      try {
        fresh = await refreshWithRetry(row, current.refreshToken);
        options.onRefresh?.(upstreamId, subject, 'ok');
      } catch (error) {
        options.onRefresh?.(upstreamId, subject, error instanceof TokenRequestError && error.kind !== 'transient' ? 'refused' : 'failed');
        if (error instanceof TokenRequestError && error.kind !== 'transient') {
          const reason = refusalReason(error);
          // A lost compare-and-set means another writer (a new authorization) came first: re-read and use that.
          if (await markAt(row, reason)) throw new NeedsAuthorization(upstreamId, subject, reason, { cause: error });
          continue;
        }
        // Transient (or a fault of ours): the tokens stay as they are and the next caller tries again.
        await store.releaseLease(upstreamId, subject, row.version);
        if (!(error instanceof TokenRequestError)) throw error;
        if (stale === undefined && !expired(row, now())) return current.accessToken;
        throw new TokensUnavailable(upstreamId, { cause: error });
      }

      // RFC 6749 §6: without a new refresh token in the response, the old one stays good.
      const next: TokenSet = { ...fresh, refreshToken: fresh.refreshToken ?? current.refreshToken };
      const written = await store.replace(upstreamId, subject, row.version, {
        sealed: sealSet(upstreamId, subject, row.issuer, next),
        expiresAt: next.expiresAt ?? null,
        status: 'active',
        reason: null,
        updatedAt: now(),
      });
      if (written) return next.accessToken;
    }
    throw new TokensUnavailable(upstreamId);
  }

  /** Concurrent callers for one connection in this process share one renewal. */
  function singleFlight(key: string, work: () => Promise<string>): Promise<string> {
    const running = inFlight.get(key);
    if (running) return running;
    const started = work().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  const keyOf = (upstreamId: string, subject: string) => JSON.stringify([upstreamId, subject]);

  return {
    async save(upstreamId, subject, issuer, tokens) {
      await store.put({
        upstreamId,
        subject,
        issuer,
        sealed: sealSet(upstreamId, subject, issuer, tokens),
        expiresAt: tokens.expiresAt ?? null,
        status: 'active',
        reason: null,
        updatedAt: now(),
      });
    },

    async accessToken(upstreamId, subject) {
      const key = keyOf(upstreamId, subject);
      if (!inFlight.has(key)) {
        const row = await store.find(upstreamId, subject);
        if (row?.status === 'active' && !refreshDue(row, now())) return openSet(row).accessToken;
      }
      return singleFlight(key, () => renew(upstreamId, subject));
    },

    async invalidate(upstreamId, subject, staleAccessToken) {
      const key = keyOf(upstreamId, subject);
      const running = inFlight.get(key);
      if (running) {
        const token = await running;
        if (token !== staleAccessToken) return token;
      }
      return singleFlight(key, () => renew(upstreamId, subject, staleAccessToken));
    },

    async status(upstreamId, subject) {
      const row = await store.find(upstreamId, subject);
      if (!row) return { state: 'none' };
      return { state: row.status, ...(row.reason !== null && { reason: row.reason }), ...(row.expiresAt !== null && { expiresAt: row.expiresAt }) };
    },

    async tokens(upstreamId, subject) {
      const row = await store.find(upstreamId, subject);
      return row && openSet(row);
    },

    async markNeedsAuth(upstreamId, subject, reason) {
      for (;;) {
        const row = await store.find(upstreamId, subject);
        if (!row || row.status === 'needs_auth') return;
        if (await markAt(row, reason)) return;
      }
    },

    async forget(upstreamId, subject) {
      const row = await store.find(upstreamId, subject);
      if (!row) return undefined;
      await store.delete(upstreamId, subject);
      return openSet(row);
    },
  };
}

function refusalReason(error: TokenRequestError): string {
  if (error.kind === 'invalid_grant') return GRANT_REFUSED;
  if (error.kind === 'invalid_client') return CLIENT_UNKNOWN;
  return `the upstream refused the refresh (${error.message}); authorize again`;
}
