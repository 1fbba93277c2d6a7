import type { Db } from '../db.js';
import type { ApiKeyRecord, ApiKeyStore } from '../types.js';
import { camelRow, camelRows } from './rows.js';

export function sqlApiKeyStore(db: Db): ApiKeyStore {
  return {
    async create(k) {
      await db.run(
        'INSERT INTO api_keys (id, user_id, name, token_hash, hint, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [k.id, k.userId, k.name, k.tokenHash, k.hint, k.createdAt, k.lastUsedAt, k.revokedAt],
      );
    },
    async findByTokenHash(tokenHash) {
      return camelRow<ApiKeyRecord>(await db.get('SELECT * FROM api_keys WHERE token_hash = ?', [tokenHash]));
    },
    async findById(id) {
      return camelRow<ApiKeyRecord>(await db.get('SELECT * FROM api_keys WHERE id = ?', [id]));
    },
    async list(filter = {}) {
      const rows = filter.userId
        ? await db.all('SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id', [filter.userId])
        : await db.all('SELECT * FROM api_keys ORDER BY created_at, id');
      return camelRows<ApiKeyRecord>(rows);
    },
    async revoke(id, now) {
      return (await db.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id])).changes > 0;
    },
    async touch(id, now) {
      await db.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', [now, id]);
    },
  };
}
