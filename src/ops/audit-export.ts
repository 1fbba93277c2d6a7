import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

/** `<dir>/<table>-<YYYY-MM-DD>.jsonl`, by the day of the sweep (UTC): one file a day per table, appended to. */
export function exportFile(dir: string, table: string, now: number): string {
  return path.join(dir, `${table}-${new Date(now).toISOString().slice(0, 10)}.jsonl`);
}

/** Appends one JSON object per line and flushes to disk before returning: the caller deletes the rows next. */
export async function appendJsonLines(dir: string, table: string, rows: readonly object[], now: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = await open(exportFile(dir, table, now), 'a', 0o600);
  try {
    await file.writeFile(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    await file.sync();
  } finally {
    await file.close();
  }
}
