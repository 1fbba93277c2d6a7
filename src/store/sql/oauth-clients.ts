import type { Db } from '../db.js';
import type { OAuthClientRecord, OAuthClientStore } from '../oauth-types.js';
import { camelRow, camelRows, insertSql } from './rows.js';

export function sqlOAuthClientStore(db: Db): OAuthClientStore {
  return {
    async create(client) {
      const { sql, params } = insertSql('oauth_clients', client);
      await db.run(sql, params);
    },
    async find(clientId) {
      return camelRow<OAuthClientRecord>(await db.get('SELECT * FROM oauth_clients WHERE client_id = ?', [clientId]));
    },
    async upsert(client) {
      const { sql, params } = insertSql(
        'oauth_clients',
        client,
        `ON CONFLICT (client_id) DO UPDATE SET metadata = excluded.metadata, metadata_expires_at = excluded.metadata_expires_at,
         auth_method = excluded.auth_method, updated_at = excluded.updated_at`,
      );
      await db.run(sql, params);
    },
    async update(clientId, patch) {
      const result = await db.run('UPDATE oauth_clients SET metadata = ?, auth_method = ?, updated_at = ? WHERE client_id = ?', [
        patch.metadata,
        patch.authMethod,
        patch.updatedAt,
        clientId,
      ]);
      return result.changes > 0;
    },
    async delete(clientId) {
      return (await db.run('DELETE FROM oauth_clients WHERE client_id = ?', [clientId])).changes > 0;
    },
    async list() {
      return camelRows<OAuthClientRecord>(await db.all('SELECT * FROM oauth_clients ORDER BY created_at, client_id'));
    },
  };
}
