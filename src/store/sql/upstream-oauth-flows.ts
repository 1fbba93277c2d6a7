import type { Db } from '../db.js';
import type { UpstreamOAuthFlowRecord, UpstreamOAuthFlowStore } from '../outbound-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlUpstreamOAuthFlowStore(db: Db): UpstreamOAuthFlowStore {
  return {
    async create(flow) {
      const { sql, params } = insertSql('upstream_oauth_flows', flow);
      await db.run(sql, params);
    },
    async find(id, now) {
      return camelRow<UpstreamOAuthFlowRecord>(await db.get('SELECT * FROM upstream_oauth_flows WHERE id = ? AND expires_at > ?', [id, now]));
    },
    async consumeByState(stateHash, now) {
      // One statement deletes and returns: of two concurrent callbacks only the one whose DELETE removed the row gets it.
      const rows = await db.all('DELETE FROM upstream_oauth_flows WHERE state_hash = ? AND expires_at > ? RETURNING *', [stateHash, now]);
      return camelRow<UpstreamOAuthFlowRecord>(rows[0]);
    },
    async deleteForUpstream(upstreamId) {
      return (await db.run('DELETE FROM upstream_oauth_flows WHERE upstream_id = ?', [upstreamId])).changes;
    },
  };
}
