import type { Db } from '../db.js';
import type { UpstreamTokenRecord, UpstreamTokenStore } from '../outbound-types.js';
import { camelRow, camelRows, insertSql } from './rows.js';

export function sqlUpstreamTokenStore(db: Db): UpstreamTokenStore {
  return {
    async find(upstreamId, subject) {
      return camelRow<UpstreamTokenRecord>(await db.get('SELECT * FROM upstream_tokens WHERE upstream_id = ? AND subject = ?', [upstreamId, subject]));
    },
    async listForUpstream(upstreamId) {
      return camelRows<UpstreamTokenRecord>(await db.all('SELECT * FROM upstream_tokens WHERE upstream_id = ? ORDER BY subject', [upstreamId]));
    },
    async listForSubject(subject) {
      return camelRows<UpstreamTokenRecord>(await db.all('SELECT * FROM upstream_tokens WHERE subject = ? ORDER BY upstream_id', [subject]));
    },
    async listAuthorizedSince(since, limit) {
      return camelRows<UpstreamTokenRecord>(
        await db.all("SELECT * FROM upstream_tokens WHERE created_at >= ? AND status = 'active' ORDER BY created_at, upstream_id, subject LIMIT ?", [since, limit]),
      );
    },
    async put(record) {
      // A fresh authorization replaces the row whole; bumping the version makes any refresh still in flight lose its CAS.
      const { sql, params } = insertSql(
        'upstream_tokens',
        {
          upstreamId: record.upstreamId,
          subject: record.subject,
          issuer: record.issuer,
          sealed: record.sealed,
          expiresAt: record.expiresAt,
          status: record.status,
          reason: record.reason,
          version: 1,
          leaseUntil: null,
          createdAt: record.updatedAt,
          updatedAt: record.updatedAt,
        },
        `ON CONFLICT (upstream_id, subject) DO UPDATE SET issuer = excluded.issuer, sealed = excluded.sealed, expires_at = excluded.expires_at,
           status = excluded.status, reason = excluded.reason, version = upstream_tokens.version + 1, lease_until = NULL,
           created_at = excluded.created_at, updated_at = excluded.updated_at
         RETURNING *`,
      );
      const [row] = await db.all(sql, params);
      return camelRow<UpstreamTokenRecord>(row)!;
    },
    async acquireLease(upstreamId, subject, version, until, now) {
      const result = await db.run(
        'UPDATE upstream_tokens SET lease_until = ? WHERE upstream_id = ? AND subject = ? AND version = ? AND (lease_until IS NULL OR lease_until <= ?)',
        [until, upstreamId, subject, version, now],
      );
      return result.changes === 1;
    },
    async replace(upstreamId, subject, expectedVersion, patch) {
      const result = await db.run(
        `UPDATE upstream_tokens SET sealed = ?, expires_at = ?, status = ?, reason = ?, updated_at = ?, version = version + 1, lease_until = NULL
         WHERE upstream_id = ? AND subject = ? AND version = ?`,
        [patch.sealed, patch.expiresAt, patch.status, patch.reason, patch.updatedAt, upstreamId, subject, expectedVersion],
      );
      return result.changes === 1;
    },
    async releaseLease(upstreamId, subject, version) {
      await db.run('UPDATE upstream_tokens SET lease_until = NULL WHERE upstream_id = ? AND subject = ? AND version = ?', [upstreamId, subject, version]);
    },
    async delete(upstreamId, subject) {
      return (await db.run('DELETE FROM upstream_tokens WHERE upstream_id = ? AND subject = ?', [upstreamId, subject])).changes > 0;
    },
    async deleteForUpstream(upstreamId) {
      return (await db.run('DELETE FROM upstream_tokens WHERE upstream_id = ?', [upstreamId])).changes;
    },
  };
}
