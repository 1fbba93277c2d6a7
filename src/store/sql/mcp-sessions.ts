import type { Db } from '../db.js';
import type { McpSessionRecord, McpSessionStore } from '../gateway-types.js';
import { camelRow, insertSql } from './rows.js';

type Row = Omit<McpSessionRecord, 'initialized'> & { initialized: number | boolean };

const recordOf = (row: Row | undefined): McpSessionRecord | undefined => row && { ...row, initialized: Boolean(row.initialized) };

export function sqlMcpSessionStore(db: Db): McpSessionStore {
  const deleteIfIdle = async (id: string, cutoff: number) =>
    (await db.run('DELETE FROM mcp_sessions WHERE id = ? AND last_seen_at <= ?', [id, cutoff])).changes > 0;
  return {
    async create(session) {
      const { sql, params } = insertSql('mcp_sessions', { ...session, initialized: session.initialized ? 1 : 0 });
      await db.run(sql, params);
    },
    async find(id) {
      return recordOf(camelRow<Row>(await db.get('SELECT * FROM mcp_sessions WHERE id = ?', [id])));
    },
    async update(id, patch) {
      if (patch.initialized !== undefined) await db.run('UPDATE mcp_sessions SET initialized = ? WHERE id = ?', [patch.initialized ? 1 : 0, id]);
      if (patch.logLevel !== undefined) await db.run('UPDATE mcp_sessions SET log_level = ? WHERE id = ?', [patch.logLevel, id]);
    },
    async touch(ids, at) {
      if (ids.length === 0) return;
      await db.run(`UPDATE mcp_sessions SET last_seen_at = ? WHERE last_seen_at < ? AND id IN (${ids.map(() => '?').join(', ')})`, [at, at, ...ids]);
    },
    async delete(id) {
      return (await db.run('DELETE FROM mcp_sessions WHERE id = ?', [id])).changes > 0;
    },
    deleteIfIdle,
    async deleteIdle(cutoff, limit) {
      // Select then delete by id, re-checking the time: a session used in between stays.
      const rows = await db.all<{ id: string }>('SELECT id FROM mcp_sessions WHERE last_seen_at <= ? ORDER BY last_seen_at LIMIT ?', [cutoff, limit]);
      const deleted: string[] = [];
      for (const { id } of rows) if (await deleteIfIdle(id, cutoff)) deleted.push(id);
      return deleted;
    },
    async listForUser(userId) {
      const rows = await db.all<{ id: string; last_seen_at: number }>('SELECT id, last_seen_at FROM mcp_sessions WHERE user_id = ? ORDER BY last_seen_at, id', [userId]);
      return rows.map((row) => ({ id: row.id, lastSeenAt: Number(row.last_seen_at) }));
    },
    async countUsedSince(since) {
      return Number((await db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM mcp_sessions WHERE last_seen_at >= ?', [since]))!.n);
    },
  };
}
