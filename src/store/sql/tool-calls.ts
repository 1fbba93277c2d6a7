import type { Db } from '../db.js';
import type { ToolCallOutcome, ToolCallRecord, ToolCallStore } from '../gateway-types.js';
import { camelRows, equals, insertMany, insertSql, whereClause } from './rows.js';

export function sqlToolCallStore(db: Db): ToolCallStore {
  return {
    async append(call) {
      const { sql, params } = insertSql('tool_calls', call);
      await db.run(sql, params);
    },
    appendMany: (rows) => insertMany(db, 'tool_calls', rows),
    async list(filter) {
      const { clause, params } = whereClause([
        equals('user_id', filter.userId),
        equals('client_id', filter.clientId),
        equals('upstream_id', filter.upstreamId),
        equals('tool', filter.tool),
        equals('outcome', filter.outcome),
        filter.upstream !== undefined && ['(upstream_id = ? OR upstream_name = ?)', [filter.upstream, filter.upstream]],
        filter.since !== undefined && ['at >= ?', [filter.since]],
        filter.until !== undefined && ['at < ?', [filter.until]],
        filter.before && ['(at < ? OR (at = ? AND id < ?))', [filter.before.at, filter.before.at, filter.before.id]],
      ]);
      params.push(filter.limit);
      return camelRows<ToolCallRecord>(await db.all(`SELECT * FROM tool_calls ${clause} ORDER BY at DESC, id DESC LIMIT ?`, params));
    },
    async countByOutcomeSince(since) {
      const rows = await db.all<{ outcome: ToolCallOutcome; n: number | string }>('SELECT outcome, COUNT(*) AS n FROM tool_calls WHERE at >= ? GROUP BY outcome', [since]);
      return Object.fromEntries(rows.map((row) => [row.outcome, Number(row.n)]));
    },
  };
}
