import type { Db } from '../db.js';
import type { ConsentRecord, ConsentStore } from '../oauth-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlConsentStore(db: Db): ConsentStore {
  return {
    async find(userId, clientId, resource) {
      return camelRow<ConsentRecord>(
        await db.get('SELECT * FROM oauth_consents WHERE user_id = ? AND client_id = ? AND resource = ?', [userId, clientId, resource]),
      );
    },
    async save(consent) {
      const { sql, params } = insertSql(
        'oauth_consents',
        consent,
        'ON CONFLICT (user_id, client_id, resource) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at',
      );
      await db.run(sql, params);
    },
    async deleteForClient(clientId) {
      return (await db.run('DELETE FROM oauth_consents WHERE client_id = ?', [clientId])).changes;
    },
    async deleteForUserAndClient(userId, clientId) {
      return (await db.run('DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?', [userId, clientId])).changes;
    },
  };
}
