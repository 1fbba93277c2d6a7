import type { Db } from '../db.js';
import type { UpstreamOAuthConfigRecord, UpstreamOAuthConfigStore } from '../outbound-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlUpstreamOAuthConfigStore(db: Db): UpstreamOAuthConfigStore {
  return {
    async find(id) {
      return camelRow<UpstreamOAuthConfigRecord>(await db.get('SELECT * FROM upstream_oauth_configs WHERE id = ?', [id]));
    },
    async findByUpstream(upstreamId) {
      return camelRow<UpstreamOAuthConfigRecord>(await db.get('SELECT * FROM upstream_oauth_configs WHERE upstream_id = ?', [upstreamId]));
    },
    async save(record) {
      // created_at stays the first save's: a re-discovery updates the setup, it does not recreate it.
      const { sql, params } = insertSql(
        'upstream_oauth_configs',
        record,
        'ON CONFLICT (id) DO UPDATE SET upstream_id = excluded.upstream_id, discovered = excluded.discovered, status = excluded.status, error = excluded.error, updated_at = excluded.updated_at',
      );
      await db.run(sql, params);
    },
    async deleteForUpstream(upstreamId) {
      return (await db.run('DELETE FROM upstream_oauth_configs WHERE upstream_id = ?', [upstreamId])).changes > 0;
    },
  };
}
