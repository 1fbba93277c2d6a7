import type { Db } from '../db.js';
import type { AuditEventRecord, AuditStore } from '../oauth-types.js';
import { camelRows, equals, insertMany, insertSql, whereClause } from './rows.js';

export function sqlAuditStore(db: Db): AuditStore {
  return {
    async append(event) {
      const { sql, params } = insertSql('audit_events', event);
      await db.run(sql, params);
    },
    appendMany: (rows) => insertMany(db, 'audit_events', rows),
    async list(filter) {
      const { clause, params } = whereClause([
        equals('kind', filter.kind),
        equals('user_id', filter.userId),
        equals('client_id', filter.clientId),
        filter.before !== undefined && ['at < ?', [filter.before]],
      ]);
      params.push(filter.limit);
      return camelRows<AuditEventRecord>(await db.all(`SELECT * FROM audit_events ${clause} ORDER BY at DESC, id DESC LIMIT ?`, params));
    },
  };
}
