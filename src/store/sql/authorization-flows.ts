import type { Db } from '../db.js';
import type { AuthorizationFlowRecord, AuthorizationFlowStore } from '../oauth-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlAuthorizationFlowStore(db: Db): AuthorizationFlowStore {
  return {
    async create(flow) {
      const { sql, params } = insertSql('authorization_flows', flow);
      await db.run(sql, params);
    },
    async find(id) {
      return camelRow<AuthorizationFlowRecord>(await db.get('SELECT * FROM authorization_flows WHERE id = ?', [id]));
    },
    async complete(id, now) {
      const result = await db.run(
        'UPDATE authorization_flows SET completed_at = ? WHERE id = ? AND completed_at IS NULL AND expires_at > ?',
        [now, id, now],
      );
      return result.changes === 1;
    },
  };
}
