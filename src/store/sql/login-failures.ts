import type { Db } from '../db.js';
import type { LoginFailureRecord, LoginFailureStore } from '../types.js';
import { camelRow } from './rows.js';

export function sqlLoginFailureStore(db: Db): LoginFailureStore {
  const find = async (subject: string, tx: Db = db) =>
    camelRow<LoginFailureRecord>(await tx.get('SELECT * FROM login_failures WHERE subject = ?', [subject]));
  return {
    find,
    recordFailure(subject, now, forgetBefore, blockFor) {
      return db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO login_failures (subject, failures, last_failure_at, blocked_until) VALUES (?, 1, ?, 0)
           ON CONFLICT (subject) DO UPDATE SET
             failures = CASE WHEN login_failures.last_failure_at < ? THEN 1 ELSE login_failures.failures + 1 END,
             last_failure_at = excluded.last_failure_at`,
          [subject, now, forgetBefore],
        );
        const row = (await find(subject, tx))!;
        const blockedUntil = now + blockFor(row.failures);
        await tx.run('UPDATE login_failures SET blocked_until = ? WHERE subject = ?', [blockedUntil, subject]);
        return { ...row, blockedUntil };
      });
    },
    async clear(subject) {
      await db.run('DELETE FROM login_failures WHERE subject = ?', [subject]);
    },
  };
}
