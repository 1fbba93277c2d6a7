import type { Db } from '../db.js';
import type { GrantRecord, GrantStore } from '../oauth-types.js';
import { camelRow, camelRows, equals, insertSql, whereClause } from './rows.js';

/** A grant's last use is recorded to the minute: enough for "last used", and hot refresh chains skip the write. */
export const GRANT_LAST_USED_PRECISION_MS = 60_000;

/** Whether `touch` would write: callers holding the grant row can skip the statement. */
export function grantTouchDue(lastUsedAt: number | null, now: number): boolean {
  return lastUsedAt === null || lastUsedAt < now - GRANT_LAST_USED_PRECISION_MS;
}

export function sqlGrantStore(db: Db): GrantStore {
  return {
    async create(grant) {
      const { sql, params } = insertSql('oauth_grants', grant);
      await db.run(sql, params);
    },
    async find(id) {
      return camelRow<GrantRecord>(await db.get('SELECT * FROM oauth_grants WHERE id = ?', [id]));
    },
    async list(filter = {}) {
      const { clause, params } = whereClause([
        equals('user_id', filter.userId || undefined),
        equals('client_id', filter.clientId || undefined),
        !filter.includeRevoked && ['revoked_at IS NULL', []],
      ]);
      return camelRows<GrantRecord>(await db.all(`SELECT * FROM oauth_grants ${clause} ORDER BY created_at DESC, id`, params));
    },
    async revoke(id, reason, now) {
      const result = await db.run('UPDATE oauth_grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL', [
        now,
        reason,
        id,
      ]);
      return result.changes > 0;
    },
    async revokeForClient(clientId, reason, now) {
      const result = await db.run(
        'UPDATE oauth_grants SET revoked_at = ?, revoked_reason = ? WHERE client_id = ? AND revoked_at IS NULL',
        [now, reason, clientId],
      );
      return result.changes;
    },
    async touch(id, now) {
      await db.run('UPDATE oauth_grants SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [
        now,
        id,
        now - GRANT_LAST_USED_PRECISION_MS,
      ]);
    },
  };
}
