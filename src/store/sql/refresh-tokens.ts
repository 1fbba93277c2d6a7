import type { Db } from '../db.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../oauth-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlRefreshTokenStore(db: Db): RefreshTokenStore {
  return {
    async create(token) {
      const { sql, params } = insertSql('refresh_tokens', token);
      await db.run(sql, params);
    },
    async find(tokenHash) {
      return camelRow<RefreshTokenRecord>(await db.get('SELECT * FROM refresh_tokens WHERE token_hash = ?', [tokenHash]));
    },
    async markRotated(tokenHash, now, replayResponse) {
      const result = await db.run(
        'UPDATE refresh_tokens SET rotated_at = ?, replay_response = ? WHERE token_hash = ? AND rotated_at IS NULL',
        [now, replayResponse, tokenHash],
      );
      return result.changes === 1;
    },
  };
}
