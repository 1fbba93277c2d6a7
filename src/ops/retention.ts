import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { FORGET_AFTER_MS } from '../identity/login.js';
import { REGISTRATION_WINDOW_MS } from '../oauth/registration-limits.js';
import { FLEET_MESSAGE_TTL_MS, type LeaseStore, type RetentionStore } from '../store/index.js';
import { appendJsonLines } from './audit-export.js';

export type RetentionConfig = Pick<Config, 'retention' | 'audit' | 'oauth' | 'sessions'>;

/** One rule of one table: deletes (or trims) at most `limit` rows of what `now` says may go, and counts them. */
export interface RetentionRule {
  table: string;
  rule: string;
  batch(now: number, limit: number): Promise<number>;
}

export interface SweepResult {
  table: string;
  rule: string;
  rows: number;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Every table that grows, with what may leave it. Order matters only for cost: replay copies and rotated tokens
 * go before the grants whose cascade would otherwise delete them in larger statements.
 */
export function retentionRules(store: RetentionStore, config: RetentionConfig): RetentionRule[] {
  const { retention, oauth, sessions, audit } = config;
  const rules: RetentionRule[] = [
    // The grace replay reads the copy only up to rotated_at + grace (refresh-grant.ts); after that it is dead weight.
    { table: 'refresh_tokens', rule: 'replay_copy', batch: (now, n) => store.clearRefreshReplays(now - oauth.refreshGraceSeconds * 1000, n) },
    // Reuse detection needs the rotated row: inside the horizon a replay still revokes the grant.
    { table: 'refresh_tokens', rule: 'rotated', batch: (now, n) => store.deleteRotatedRefreshTokens(now - retention.rotatedRefreshTokenSeconds * 1000, n) },
    { table: 'refresh_tokens', rule: 'expired', batch: (now, n) => store.deleteExpiredRefreshTokens(now, n) },
    { table: 'authorization_codes', rule: 'expired', batch: (now, n) => store.deleteAuthorizationCodes(now - retention.authorizationCodeSeconds * 1000, n) },
    { table: 'oauth_grants', rule: 'ended', batch: (now, n) => store.deleteEndedGrants(now - retention.endedGrantSeconds * 1000, n) },
    { table: 'browser_sessions', rule: 'dead', batch: (now, n) => store.deleteDeadBrowserSessions(now, now - sessions.idleTimeoutSeconds * 1000, n) },
    { table: 'login_failures', rule: 'forgotten', batch: (now, n) => store.deleteForgottenLoginFailures(now - FORGET_AFTER_MS, now, n) },
    { table: 'rate_windows', rule: 'past', batch: (now, n) => store.deleteRateWindows(now - REGISTRATION_WINDOW_MS, n) },
    // An expired approval is answered `expired` once by the retry; a day later nobody retries it any more.
    { table: 'call_approvals', rule: 'expired', batch: (now, n) => store.deleteExpiredCallApprovals(now - DAY_MS, n) },
    { table: 'authorization_flows', rule: 'expired', batch: (now, n) => store.deleteExpiredFlows(now, n) },
    { table: 'upstream_oauth_flows', rule: 'expired', batch: (now, n) => store.deleteExpiredUpstreamFlows(now, n) },
    { table: 'sso_sign_ins', rule: 'expired', batch: (now, n) => store.deleteExpiredSsoSignIns(now, n) },
    { table: 'id_jag_assertions', rule: 'expired', batch: (now, n) => store.deleteExpiredIdJagAssertions(now, n) },
    // A large fleet message's row is read by the other replicas as soon as its notification arrives.
    { table: 'fleet_messages', rule: 'read', batch: (now, n) => store.deleteFleetMessages(now - FLEET_MESSAGE_TTL_MS, n) },
    // Anyone can create one by naming a new https client_id, so they must not pile up; used again, one is fetched
    // again (and counted as a new registration).
    {
      table: 'oauth_clients',
      rule: 'unused_metadata_document',
      batch: (now, n) => store.deleteUnusedMetadataDocumentClients(now - oauth.metadataDocumentClientRetentionSeconds * 1000, now, n),
    },
  ];
  if (audit.retentionDays > 0) {
    const before = (now: number) => now - audit.retentionDays * DAY_MS;
    const exported = <T extends { id: string }>(table: string, read: (before: number, n: number) => Promise<T[]>, remove: (ids: string[]) => Promise<number>) =>
      async (now: number, n: number) => {
        const rows = await read(before(now), n);
        // Written (and flushed) before the delete: a crash in between exports twice, never loses a row.
        if (audit.exportDir && rows.length > 0) await appendJsonLines(audit.exportDir, table, rows, now);
        return remove(rows.map((row) => row.id));
      };
    rules.push(
      { table: 'audit_events', rule: 'older_than_retention', batch: exported('audit_events', store.oldAuditEvents, store.deleteAuditEvents) },
      { table: 'tool_calls', rule: 'older_than_retention', batch: exported('tool_calls', store.oldToolCalls, store.deleteToolCalls) },
    );
  }
  return rules;
}

/** Lets requests waiting for the database in (SQLite's group commit runs them between our batches). */
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs one rule in batches until a batch comes back short, or until `stopping` is aborted (between batches). */
async function sweepRule(rule: RetentionRule, now: number, batchSize: number, stopping?: AbortSignal): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await rule.batch(now, batchSize);
    total += rows;
    if (rows < batchSize || stopping?.aborted) return total;
    await yieldToRequests();
  }
}

export const RETENTION_LEASE = 'retention';
/** Long enough for any sweep's rule; renewed before each rule, so a crashed holder frees it soon. */
const LEASE_MS = 10 * 60 * 1000;

export interface RetentionSweeper {
  /**
   * Every rule once, unless another process holds the lease (then `undefined`). An aborted `stopping` ends the
   * sweep after the batch in progress (a server shutting down); the next sweep picks up where it left off.
   */
  sweep(now?: number, stopping?: AbortSignal): Promise<SweepResult[] | undefined>;
}

/**
 * The sweep as the server's job and `gatehouse maintenance` run it: once across a fleet (a lease row, which
 * works the same on SQLite and PostgreSQL), each rule in bounded batches.
 */
export function retentionSweeper(options: {
  store: { retention: RetentionStore; leases: LeaseStore };
  config: RetentionConfig;
  clock?: () => number;
  onRule?: (result: SweepResult) => void;
}): RetentionSweeper {
  const holder = randomUUID();
  const clock = options.clock ?? Date.now;
  const rules = retentionRules(options.store.retention, options.config);
  const { leases } = options.store;
  return {
    async sweep(now = clock(), stopping) {
      const results: SweepResult[] = [];
      try {
        for (const rule of rules) {
          if (stopping?.aborted) break;
          if (!(await leases.tryAcquire(RETENTION_LEASE, holder, clock(), clock() + LEASE_MS))) return results.length > 0 ? results : undefined;
          const result = { table: rule.table, rule: rule.rule, rows: await sweepRule(rule, now, options.config.retention.batchSize, stopping) };
          options.onRule?.(result);
          results.push(result);
        }
      } finally {
        await leases.release(RETENTION_LEASE, holder);
      }
      return results;
    },
  };
}
