import type { Db } from '../db.js';
import type { SsoSignInRecord, SsoSignInStore } from '../types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlSsoSignInStore(db: Db): SsoSignInStore {
  return {
    async put(signIn) {
      const { sql, params } = insertSql(
        'sso_sign_ins',
        signIn,
        'ON CONFLICT (browser_hash) DO UPDATE SET provider_id = excluded.provider_id, sealed = excluded.sealed, created_at = excluded.created_at, expires_at = excluded.expires_at',
      );
      await db.run(sql, params);
    },
    async consume(browserHash, now) {
      // One statement deletes and returns: of two concurrent callbacks only one gets the sign-in.
      const rows = await db.all('DELETE FROM sso_sign_ins WHERE browser_hash = ? AND expires_at > ? RETURNING *', [browserHash, now]);
      return camelRow<SsoSignInRecord>(rows[0]);
    },
  };
}
