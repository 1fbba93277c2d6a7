import type { Db } from '../db.js';
import type { IdJagReplayStore, SsoIdentityTokenRecord, SsoIdentityTokenStore } from '../types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlSsoIdentityTokenStore(db: Db): SsoIdentityTokenStore {
  return {
    async put(record) {
      const { sql, params } = insertSql(
        'sso_identity_tokens',
        record,
        'ON CONFLICT (user_id) DO UPDATE SET provider_id = excluded.provider_id, sealed = excluded.sealed, expires_at = excluded.expires_at, updated_at = excluded.updated_at',
      );
      await db.run(sql, params);
    },
    async find(userId) {
      return camelRow<SsoIdentityTokenRecord>(await db.get('SELECT * FROM sso_identity_tokens WHERE user_id = ?', [userId]));
    },
    async recentUsers(providerId, limit) {
      const rows = await db.all('SELECT user_id FROM sso_identity_tokens WHERE provider_id = ? ORDER BY updated_at DESC LIMIT ?', [providerId, limit]);
      return rows.map((row) => String(row.user_id));
    },
    async delete(userId) {
      await db.run('DELETE FROM sso_identity_tokens WHERE user_id = ?', [userId]);
    },
  };
}

export function sqlIdJagReplayStore(db: Db): IdJagReplayStore {
  return {
    async remember(issuer, jti, expiresAt) {
      // One statement: of two concurrent redemptions of the same assertion, only one inserts the row.
      const { sql, params } = insertSql('id_jag_assertions', { assertionKey: JSON.stringify([issuer, jti]), issuer, jti, expiresAt }, 'ON CONFLICT (assertion_key) DO NOTHING');
      return (await db.run(sql, params)).changes === 1;
    },
  };
}
