import type { Db } from '../db.js';
import type { LoginFailureRecord, LoginFailureStore } from '../types.js';
import { camelRow } from './rows.js';

export function sqlLoginFailureStore(db: Db): LoginFailureStore {
  return {
    async find(subject) {
      return camelRow<LoginFailureRecord>(await db.get('SELECT * FROM login_failures WHERE subject = ?', [subject]));
    },
    update(subjects, decide) {
      return db.transaction(async (tx) => {
        // The upsert locks each row (PostgreSQL holds it to COMMIT; SQLite runs one transaction at a time), so the
        // decision below sees every earlier attempt on these subjects. Rows are locked in one order: no deadlock.
        const locked = new Map<string, LoginFailureRecord>();
        for (const subject of [...new Set(subjects)].sort()) {
          const row = await tx.get(
            `INSERT INTO login_failures (subject, failures, last_failure_at, blocked_until) VALUES (?, 0, 0, 0)
             ON CONFLICT (subject) DO UPDATE SET failures = login_failures.failures
             RETURNING *`,
            [subject],
          );
          locked.set(subject, camelRow<LoginFailureRecord>(row)!);
        }
        const { records, result } = decide(subjects.map((subject) => locked.get(subject)!));
        for (const record of records) {
          // A subject with nothing against it is not kept: its row would only be a placeholder.
          if (record.failures === 0) await tx.run('DELETE FROM login_failures WHERE subject = ?', [record.subject]);
          else {
            await tx.run('UPDATE login_failures SET failures = ?, last_failure_at = ?, blocked_until = ? WHERE subject = ?', [
              record.failures,
              record.lastFailureAt,
              record.blockedUntil,
              record.subject,
            ]);
          }
        }
        return result;
      });
    },
  };
}
