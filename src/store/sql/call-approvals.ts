import type { Db } from '../db.js';
import type { CallApprovalRecord, CallApprovalStore } from '../gateway-types.js';
import { camelRow, insertSql } from './rows.js';

const toRecord = (row: Record<string, unknown> | undefined) => {
  const record = camelRow<CallApprovalRecord>(row);
  return record && { ...record, createdAt: Number(record.createdAt), expiresAt: Number(record.expiresAt), decidedAt: record.decidedAt === null ? null : Number(record.decidedAt) };
};

export function sqlCallApprovalStore(db: Db): CallApprovalStore {
  return {
    async create(approval) {
      const { sql, params } = insertSql('call_approvals', approval);
      await db.run(sql, params);
    },
    async find(id) {
      return toRecord(await db.get('SELECT * FROM call_approvals WHERE id = ?', [id]));
    },
    async findOpen({ userId, upstreamId, tool, argumentsHash }) {
      return toRecord(
        await db.get(
          `SELECT * FROM call_approvals WHERE user_id = ? AND upstream_id = ? AND tool = ? AND arguments_hash = ? AND status <> 'spent'
           ORDER BY created_at DESC, id LIMIT 1`,
          [userId, upstreamId, tool, argumentsHash],
        ),
      );
    },
    async transition(id, from, to, at, { liveAt, expiresAt } = {}) {
      const expiry = expiresAt === undefined ? '' : ', expires_at = ?';
      const live = liveAt === undefined ? '' : ' AND expires_at > ?';
      const result = await db.run(`UPDATE call_approvals SET status = ?, decided_at = COALESCE(decided_at, ?)${expiry} WHERE id = ? AND status = ?${live}`, [
        to,
        at,
        ...(expiresAt === undefined ? [] : [expiresAt]),
        id,
        from,
        ...(liveAt === undefined ? [] : [liveAt]),
      ]);
      return result.changes > 0;
    },
  };
}
