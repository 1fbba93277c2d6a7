import type { Db } from '../db.js';
import type { AuditEventRecord, AuditStore } from '../oauth-types.js';
import { camelRows, insertSql } from './rows.js';

export function sqlAuditStore(db: Db): AuditStore {
  return {
    async append(event) {
      const { sql, params } = insertSql('audit_events', event);
      await db.run(sql, params);
    },
    async list(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [column, value] of [
        ['kind', filter.kind],
        ['user_id', filter.userId],
        ['client_id', filter.clientId],
      ] as const) {
        if (value !== undefined) where.push(`${column} = ?`) && params.push(value);
      }
      if (filter.before !== undefined) where.push('at < ?') && params.push(filter.before);
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      params.push(filter.limit);
      return camelRows<AuditEventRecord>(await db.all(`SELECT * FROM audit_events ${clause} ORDER BY at DESC, id DESC LIMIT ?`, params));
    },
  };
}
