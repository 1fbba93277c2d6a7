import type { Db } from '../db.js';
import type { AuditEventRecord } from '../oauth-types.js';
import type { ToolCallRecord } from '../gateway-types.js';
import type { LeaseStore, RetentionStore } from '../retention-types.js';
import { camelRows } from './rows.js';

/**
 * At most `limit` rows of `table` matching `where`, deleted through the primary key: portable (SQLite and
 * PostgreSQL run the same text) and one short statement per batch.
 */
function deleteBatch(db: Db, table: string, key: string, where: string) {
  const sql = `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ?)`;
  return async (params: readonly unknown[], limit: number) => (await db.run(sql, [...params, limit])).changes;
}

function deleteByIds(db: Db, table: string) {
  return async (ids: readonly string[]) =>
    ids.length === 0 ? 0 : (await db.run(`DELETE FROM ${table} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids)).changes;
}

export function sqlRetentionStore(db: Db): RetentionStore {
  const rotatedTokens = deleteBatch(db, 'refresh_tokens', 'token_hash', 'rotated_at IS NOT NULL AND rotated_at <= ?');
  const expiredTokens = deleteBatch(db, 'refresh_tokens', 'token_hash', 'rotated_at IS NULL AND expires_at <= ?');
  const codes = deleteBatch(db, 'authorization_codes', 'code_hash', 'expires_at <= ?');
  const endedGrants = deleteBatch(db, 'oauth_grants', 'id', '((revoked_at IS NOT NULL AND revoked_at <= ?) OR expires_at <= ?)');
  const deadSessions = deleteBatch(db, 'browser_sessions', 'token_hash', '(absolute_expires_at <= ? OR last_seen_at <= ? OR revoked_at IS NOT NULL)');
  const loginFailures = deleteBatch(db, 'login_failures', 'subject', 'last_failure_at < ? AND blocked_until <= ?');
  const rateWindows = deleteBatch(db, 'rate_windows', 'bucket', 'window_start < ?');
  const callApprovals = deleteBatch(db, 'call_approvals', 'id', 'expires_at < ?');
  const flows = deleteBatch(db, 'authorization_flows', 'id', 'expires_at <= ?');
  const upstreamFlows = deleteBatch(db, 'upstream_oauth_flows', 'id', 'expires_at <= ?');
  const ssoSignIns = deleteBatch(db, 'sso_sign_ins', 'browser_hash', 'expires_at <= ?');
  const idJagAssertions = deleteBatch(db, 'id_jag_assertions', 'assertion_key', 'expires_at <= ?');
  const fleetMessages = deleteBatch(db, 'fleet_messages', 'id', 'created_at < ?');
  // updated_at is the last fetch of the document: the closest thing to "last used" a metadata-document client has.
  const unusedDocumentClients = deleteBatch(
    db,
    'oauth_clients',
    'client_id',
    `kind = 'metadata_document' AND updated_at < ?
       AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.client_id AND g.revoked_at IS NULL AND g.expires_at > ?)`,
  );
  return {
    async clearRefreshReplays(rotatedBefore, limit) {
      const sql = `UPDATE refresh_tokens SET replay_response = NULL WHERE token_hash IN
        (SELECT token_hash FROM refresh_tokens WHERE replay_response IS NOT NULL AND rotated_at <= ? LIMIT ?)`;
      return (await db.run(sql, [rotatedBefore, limit])).changes;
    },
    deleteRotatedRefreshTokens: (rotatedBefore, limit) => rotatedTokens([rotatedBefore], limit),
    deleteExpiredRefreshTokens: (now, limit) => expiredTokens([now], limit),
    deleteAuthorizationCodes: (expiredBefore, limit) => codes([expiredBefore], limit),
    deleteEndedGrants: (endedBefore, limit) => endedGrants([endedBefore, endedBefore], limit),
    deleteDeadBrowserSessions: (now, idleBefore, limit) => deadSessions([now, idleBefore], limit),
    deleteForgottenLoginFailures: (forgetBefore, now, limit) => loginFailures([forgetBefore, now], limit),
    deleteRateWindows: (startedBefore, limit) => rateWindows([startedBefore], limit),
    deleteExpiredCallApprovals: (expiredBefore, limit) => callApprovals([expiredBefore], limit),
    deleteExpiredFlows: (now, limit) => flows([now], limit),
    deleteExpiredUpstreamFlows: (now, limit) => upstreamFlows([now], limit),
    deleteExpiredSsoSignIns: (now, limit) => ssoSignIns([now], limit),
    deleteExpiredIdJagAssertions: (now, limit) => idJagAssertions([now], limit),
    deleteFleetMessages: (createdBefore, limit) => fleetMessages([createdBefore], limit),
    deleteUnusedMetadataDocumentClients: (fetchedBefore, now, limit) => unusedDocumentClients([fetchedBefore, now], limit),
    async oldAuditEvents(before, limit) {
      return camelRows<AuditEventRecord>(await db.all('SELECT * FROM audit_events WHERE at < ? ORDER BY at, id LIMIT ?', [before, limit]));
    },
    deleteAuditEvents: deleteByIds(db, 'audit_events'),
    async oldToolCalls(before, limit) {
      return camelRows<ToolCallRecord>(await db.all('SELECT * FROM tool_calls WHERE at < ? ORDER BY at, id LIMIT ?', [before, limit]));
    },
    deleteToolCalls: deleteByIds(db, 'tool_calls'),
  };
}

export function sqlLeaseStore(db: Db): LeaseStore {
  return {
    async tryAcquire(name, holder, now, expiresAt) {
      // One statement, so two processes racing for a free lease cannot both win.
      const result = await db.run(
        `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`,
        [name, holder, expiresAt, now],
      );
      return result.changes === 1;
    },
    async release(name, holder) {
      await db.run('DELETE FROM leases WHERE name = ? AND holder = ?', [name, holder]);
    },
  };
}
