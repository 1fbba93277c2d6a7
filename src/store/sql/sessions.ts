import type { Db } from '../db.js';
import type { BrowserSessionStore, BrowserSessionRecord } from '../types.js';
import { camelRow } from './rows.js';

export function sqlBrowserSessionStore(db: Db): BrowserSessionStore {
  return {
    async create(s) {
      await db.run(
        'INSERT INTO browser_sessions (token_hash, user_id, created_at, last_seen_at, absolute_expires_at, revoked_at, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [s.tokenHash, s.userId, s.createdAt, s.lastSeenAt, s.absoluteExpiresAt, s.revokedAt, s.userAgent],
      );
    },
    async findByTokenHash(tokenHash) {
      return camelRow<BrowserSessionRecord>(await db.get('SELECT * FROM browser_sessions WHERE token_hash = ?', [tokenHash]));
    },
    async touch(tokenHash, now) {
      await db.run('UPDATE browser_sessions SET last_seen_at = ? WHERE token_hash = ?', [now, tokenHash]);
    },
    async revoke(tokenHash, now) {
      await db.run('UPDATE browser_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL', [now, tokenHash]);
    },
    async revokeAllForUser(userId, now) {
      return (await db.run('UPDATE browser_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL', [now, userId])).changes;
    },
  };
}
