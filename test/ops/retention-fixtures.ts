import { loadConfig } from '../../src/config.js';
import { retentionSweeper, type RetentionConfig, type SweepResult } from '../../src/ops/retention.js';
import type { OpenedStore } from '../../src/store/index.js';

/** A fixed "now" for retention tests: every row's times are chosen relative to it, no clock is read. */
export const NOW = 1_800_000_000_000;
export const SECOND = 1000;
export const HOUR = 3600 * SECOND;
export const DAY = 24 * HOUR;

/** The defaults, with `retention` and `audit` overridden where a test says so. */
export function retentionConfig(overrides: { retention?: Partial<RetentionConfig['retention']>; audit?: Partial<RetentionConfig['audit']> } = {}): RetentionConfig {
  const defaults = loadConfig({}, {});
  return {
    oauth: defaults.oauth,
    sessions: defaults.sessions,
    retention: { ...defaults.retention, ...overrides.retention },
    audit: { ...defaults.audit, ...overrides.audit },
  };
}

/** One sweep of every rule at `now`; the rows each rule handled, keyed `table/rule`. */
export async function sweepAt(store: OpenedStore, now: number, config = retentionConfig()): Promise<Record<string, number>> {
  const results = (await retentionSweeper({ store, config, clock: () => now }).sweep(now)) as SweepResult[];
  return Object.fromEntries(results.map((result) => [`${result.table}/${result.rule}`, result.rows]));
}

export async function storeUser(store: OpenedStore, id = 'usr_1'): Promise<string> {
  await store.users.create({ id, username: id, passwordHash: 'h', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
  return id;
}

export async function storeGrantRow(
  store: OpenedStore,
  id: string,
  userId: string,
  times: { expiresAt?: number; revokedAt?: number | null; clientId?: string } = {},
): Promise<void> {
  await store.grants.create({
    id,
    userId,
    clientId: times.clientId ?? 'cli_x',
    scope: 'mcp:read',
    resource: 'http://127.0.0.1:8080/mcp',
    createdAt: NOW - 30 * DAY,
    expiresAt: times.expiresAt ?? NOW + 30 * DAY,
    lastUsedAt: null,
    revokedAt: times.revokedAt ?? null,
    revokedReason: times.revokedAt ? 'test' : null,
  });
}

export async function storeRefreshToken(
  store: OpenedStore,
  tokenHash: string,
  grantId: string,
  times: { expiresAt?: number; rotatedAt?: number | null; replay?: boolean } = {},
): Promise<void> {
  await store.refreshTokens.create({
    tokenHash,
    grantId,
    scope: 'mcp:read',
    createdAt: NOW - DAY,
    expiresAt: times.expiresAt ?? NOW + 30 * DAY,
    rotatedAt: times.rotatedAt ?? null,
    replayResponse: times.replay ? 'sealed-successor' : null,
  });
}

export async function storeCode(store: OpenedStore, codeHash: string, grantId: string, times: { expiresAt: number; usedAt?: number | null }): Promise<void> {
  await store.codes.create({
    codeHash,
    grantId,
    clientId: 'cli_x',
    redirectUri: 'http://127.0.0.1/cb',
    codeChallenge: 'x'.repeat(43),
    scope: 'mcp:read',
    resource: 'http://127.0.0.1:8080/mcp',
    createdAt: times.expiresAt - 60 * SECOND,
    expiresAt: times.expiresAt,
    usedAt: times.usedAt ?? null,
  });
}

/** The primary keys left in `table`, sorted. */
export async function keysIn(store: OpenedStore, table: string, key: string): Promise<string[]> {
  return (await store.database.all<Record<string, string>>(`SELECT ${key} AS k FROM ${table} ORDER BY ${key}`)).map((row) => row.k!);
}
