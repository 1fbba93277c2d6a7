import type { Db } from '../db.js';
import type { ServiceAccountRecord, ServiceAccountStore } from '../types.js';
import { sqlOAuthClientStore } from './oauth-clients.js';
import { camelRow, camelRows, insertSql } from './rows.js';
import { sqlUserStore } from './users.js';


type Row = Omit<ServiceAccountRecord, 'scopes'> & { scopes: string };
const toAccount = (row: Row | undefined): ServiceAccountRecord | undefined => row && { ...row, scopes: JSON.parse(row.scopes) as string[] };

export function sqlServiceAccountStore(db: Db): ServiceAccountStore {
  const one = async (sql: string, params: unknown[]) => toAccount(camelRow<Row>(await db.get(sql, params)));
  return {
    async create({ account, user, client }) {
      await db.transaction(async (tx) => {
        await sqlUserStore(tx).create(user);
        await sqlOAuthClientStore(tx).create(client);
        const { sql, params } = insertSql('service_accounts', { ...account, scopes: JSON.stringify(account.scopes) });
        await tx.run(sql, params);
      });
    },
    findById: (id) => one('SELECT * FROM service_accounts WHERE id = ?', [id]),
    findByClientId: (clientId) => one('SELECT * FROM service_accounts WHERE client_id = ?', [clientId]),
    async list() {
      return camelRows<Row>(await db.all('SELECT * FROM service_accounts ORDER BY created_at, name')).map((row) => toAccount(row)!);
    },
    async setSecretHash(clientId, secretHash, now) {
      return (await db.run('UPDATE oauth_clients SET secret_hash = ?, updated_at = ? WHERE client_id = ?', [secretHash, now, clientId])).changes > 0;
    },
    async delete(account) {
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM oauth_clients WHERE client_id = ?', [account.clientId]);
        return (await tx.run('DELETE FROM users WHERE id = ?', [account.userId])).changes > 0;
      });
    },
  };
}
