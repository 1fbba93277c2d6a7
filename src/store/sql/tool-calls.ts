import type { Db } from '../db.js';
import type { ToolCallRecord, ToolCallStore } from '../gateway-types.js';
import { camelRows, insertSql } from './rows.js';

export function sqlToolCallStore(db: Db): ToolCallStore {
  return {
    async append(call) {
      const { sql, params } = insertSql('tool_calls', call);
      await db.run(sql, params);
    },
    async list(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [column, value] of [
        ['user_id', filter.userId],
        ['client_id', filter.clientId],
        ['upstream_id', filter.upstreamId],
        ['tool', filter.tool],
        ['outcome', filter.outcome],
      ] as const) {
        if (value !== undefined) where.push(`${column} = ?`) && params.push(value);
      }
      if (filter.upstream !== undefined) where.push('(upstream_id = ? OR upstream_name = ?)') && params.push(filter.upstream, filter.upstream);
      if (filter.since !== undefined) where.push('at >= ?') && params.push(filter.since);
      if (filter.before) where.push('(at < ? OR (at = ? AND id < ?))') && params.push(filter.before.at, filter.before.at, filter.before.id);
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      params.push(filter.limit);
      return camelRows<ToolCallRecord>(await db.all(`SELECT * FROM tool_calls ${clause} ORDER BY at DESC, id DESC LIMIT ?`, params));
    },
  };
}
