import type { Db } from '../db.js';
import type { UpstreamOAuthClientRecord, UpstreamOAuthClientStore } from '../outbound-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlUpstreamOAuthClientStore(db: Db): UpstreamOAuthClientStore {
  return {
    async find(upstreamId, issuer) {
      return camelRow<UpstreamOAuthClientRecord>(
        await db.get('SELECT * FROM upstream_oauth_clients WHERE upstream_id = ? AND issuer = ?', [upstreamId, issuer]),
      );
    },
    async save(record) {
      // A new registration replaces the old one whole, its creation time included.
      const { sql, params } = insertSql(
        'upstream_oauth_clients',
        record,
        'ON CONFLICT (upstream_id, issuer) DO UPDATE SET client_id = excluded.client_id, sealed_secret = excluded.sealed_secret, auth_method = excluded.auth_method, source = excluded.source, created_at = excluded.created_at',
      );
      await db.run(sql, params);
    },
    async delete(upstreamId, issuer) {
      return (await db.run('DELETE FROM upstream_oauth_clients WHERE upstream_id = ? AND issuer = ?', [upstreamId, issuer])).changes > 0;
    },
    async deleteForUpstream(upstreamId) {
      return (await db.run('DELETE FROM upstream_oauth_clients WHERE upstream_id = ?', [upstreamId])).changes;
    },
  };
}
