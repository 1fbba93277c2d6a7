import type { Db } from '../db.js';
import type { AuthorizationCodeRecord, AuthorizationCodeStore } from '../oauth-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlAuthorizationCodeStore(db: Db): AuthorizationCodeStore {
  return {
    async create(code) {
      const { sql, params } = insertSql('authorization_codes', code);
      await db.run(sql, params);
    },
    async consume(codeHash, now) {
      // The compare-and-set decides which of two concurrent redemptions is the first use.
      const firstUse = (await db.run('UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL', [now, codeHash])).changes === 1;
      const code = camelRow<AuthorizationCodeRecord>(await db.get('SELECT * FROM authorization_codes WHERE code_hash = ?', [codeHash]));
      return code && { code, firstUse };
    },
  };
}
