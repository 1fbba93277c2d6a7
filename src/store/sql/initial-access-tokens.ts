import type { Db } from '../db.js';
import type { InitialAccessTokenRecord, InitialAccessTokenStore } from '../oauth-types.js';
import { camelRows, insertSql } from './rows.js';

export function sqlInitialAccessTokenStore(db: Db): InitialAccessTokenStore {
  return {
    async create(token) {
      const { sql, params } = insertSql('initial_access_tokens', token);
      await db.run(sql, params);
    },
    async consume(tokenHash, now) {
      const result = await db.run(
        'UPDATE initial_access_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?',
        [now, tokenHash, now],
      );
      return result.changes === 1;
    },
    async list() {
      return camelRows<InitialAccessTokenRecord>(await db.all('SELECT * FROM initial_access_tokens ORDER BY created_at, id'));
    },
    async revoke(id, now) {
      return (await db.run('UPDATE initial_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id])).changes > 0;
    },
  };
}
