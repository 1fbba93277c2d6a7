import type { Db } from '../db.js';
import type { RateWindowStore } from '../oauth-types.js';

export function sqlRateWindowStore(db: Db): RateWindowStore {
  return {
    async hit(bucket, windowStart) {
      // One statement, so concurrent replicas count every hit: a row from an older window restarts at 1.
      const row = await db.get<{ hits: number }>(
        `INSERT INTO rate_windows (bucket, window_start, hits) VALUES (?, ?, 1)
         ON CONFLICT (bucket) DO UPDATE SET
           hits = CASE WHEN rate_windows.window_start = excluded.window_start THEN rate_windows.hits + 1 ELSE 1 END,
           window_start = excluded.window_start
         RETURNING hits`,
        [bucket, windowStart],
      );
      return Number(row!.hits);
    },
  };
}
