import type { AuditEventRecord } from './oauth-types.js';
import type { ToolCallRecord } from './gateway-types.js';

/**
 * Retention as the store offers it: each method handles at most `limit` rows (one short statement, so a sweep
 * never holds SQLite's write lock long nor grows one PostgreSQL transaction) and returns how many it handled;
 * the caller repeats until a batch comes back short. Cutoffs are epoch milliseconds chosen by the caller.
 */
export interface RetentionStore {
  /** Drops the replay copy of refresh tokens rotated at or before `rotatedBefore` (their grace is over). */
  clearRefreshReplays(rotatedBefore: number, limit: number): Promise<number>;
  /** Deletes refresh tokens rotated at or before `rotatedBefore`: a replay of one is then an unknown token. */
  deleteRotatedRefreshTokens(rotatedBefore: number, limit: number): Promise<number>;
  /** Deletes refresh tokens never rotated whose idle lifetime ended at or before `now`. */
  deleteExpiredRefreshTokens(now: number, limit: number): Promise<number>;
  /** Deletes authorization codes (used or not) that expired at or before `expiredBefore`. */
  deleteAuthorizationCodes(expiredBefore: number, limit: number): Promise<number>;
  /** Deletes grants revoked or expired at or before `endedBefore`, with their codes and tokens (cascade). */
  deleteEndedGrants(endedBefore: number, limit: number): Promise<number>;
  /** Deletes browser sessions past their absolute lifetime, idle since `idleBefore`, or revoked. */
  deleteDeadBrowserSessions(now: number, idleBefore: number, limit: number): Promise<number>;
  /** Deletes login-failure counts whose last failure is older than `forgetBefore` and whose block is over. */
  deleteForgottenLoginFailures(forgetBefore: number, now: number, limit: number): Promise<number>;
  /** Deletes rate windows that started before `startedBefore`. */
  deleteRateWindows(startedBefore: number, limit: number): Promise<number>;
  /** Call approvals (decided or not) that expired before this time. */
  deleteExpiredCallApprovals(expiredBefore: number, limit: number): Promise<number>;
  /** Deletes pending authorization flows past their TTL at `now`. */
  deleteExpiredFlows(now: number, limit: number): Promise<number>;
  /** Deletes the authorization flows Gatehouse started at upstreams, past their TTL at `now`. */
  deleteExpiredUpstreamFlows(now: number, limit: number): Promise<number>;
  deleteExpiredSsoSignIns(now: number, limit: number): Promise<number>;
  /** Forgets redeemed ID-JAG `jti`s once their assertions have expired (a replay would fail on `exp` anyway). */
  deleteExpiredIdJagAssertions(now: number, limit: number): Promise<number>;
  /** Deletes the rows of large fleet messages stored before `createdBefore` (every replica has read them by then). */
  deleteFleetMessages(createdBefore: number, limit: number): Promise<number>;
  /** Client ID Metadata Document clients last fetched before `fetchedBefore` that hold no grant live at `now`. */
  deleteUnusedMetadataDocumentClients(fetchedBefore: number, now: number, limit: number): Promise<number>;
  /** The oldest security events before `before`, oldest first (to export before deleting them). */
  oldAuditEvents(before: number, limit: number): Promise<AuditEventRecord[]>;
  deleteAuditEvents(ids: readonly string[]): Promise<number>;
  /** The oldest tool-call audit rows before `before`, oldest first. */
  oldToolCalls(before: number, limit: number): Promise<ToolCallRecord[]>;
  deleteToolCalls(ids: readonly string[]): Promise<number>;
}

/**
 * A named lease in the database, so that one process of a fleet (or `gatehouse maintenance` beside a server)
 * does a job at a time. Taken when free, expired, or already held by `holder` (then extended).
 */
export interface LeaseStore {
  tryAcquire(name: string, holder: string, now: number, expiresAt: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
}
