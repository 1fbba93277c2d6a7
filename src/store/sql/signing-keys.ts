import type { Db } from '../db.js';
import type { SigningKeyRecord, SigningKeyStore } from '../oauth-types.js';
import { camelRows, insertSql } from './rows.js';

export function sqlSigningKeyStore(db: Db): SigningKeyStore {
  return {
    async list() {
      return camelRows<SigningKeyRecord>(await db.all('SELECT * FROM signing_keys ORDER BY created_at, kid'));
    },
    async create(key) {
      const { sql, params } = insertSql('signing_keys', key);
      await db.run(sql, params);
    },
    async setState(kid, state, at) {
      const column = state === 'current' ? 'activated_at' : state === 'retired' ? 'retired_at' : 'created_at';
      await db.run(`UPDATE signing_keys SET state = ?, ${column} = ? WHERE kid = ?`, [state, at, kid]);
    },
    async delete(kid) {
      await db.run('DELETE FROM signing_keys WHERE kid = ?', [kid]);
    },
  };
}
