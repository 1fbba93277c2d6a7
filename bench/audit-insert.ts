import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { newId, timeOrderedId } from '../src/crypto/random.js';
import { gateway } from '../src/store/migrations/003_gateway.js';
import { insertManySql } from '../src/store/sql/rows.js';

/**
 * What one tool-call audit row costs SQLite, with random ids (`newId`) and with time-ordered ones (`timeOrderedId`):
 * `BENCH_BATCHES` batches of `BENCH_BATCH` rows (the audit batcher's multi-row INSERTs, one transaction each, WAL and
 * `synchronous = NORMAL` as `gatehouse serve` opens SQLite) into a fresh `tool_calls` table, in turn, twice. Prints
 * the process's CPU time per row, user and kernel. `node --import tsx bench/audit-insert.ts`
 */
const BATCH = Number(process.env.BENCH_BATCH ?? 177);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 1000);
const ids = { random: () => newId('call'), 'time-ordered': (at: number) => timeOrderedId('call', at) };

for (const kind of ['random', 'time-ordered', 'random', 'time-ordered'] as const) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-audit-insert-'));
  const db = new Database(path.join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(gateway);
  // Prepared once, as store/sqlite.ts caches statements by their text.
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => statements.get(sql) ?? statements.set(sql, db.prepare(sql)).get(sql)!;
  // A batch's chunks (store/sql/rows.ts) in one transaction, as `insertMany` writes them.
  const insert = db.transaction((chunks: { sql: string; params: unknown[] }[]) => {
    for (const { sql, params } of chunks) prepared(sql).run(...params);
  });
  const start = Date.now();
  const cpu = process.cpuUsage();
  for (let batch = 0; batch < BATCHES; batch += 1) {
    const rows = Array.from({ length: BATCH }, (_, index) => {
      const at = start + batch * 100 + index;
      return { id: ids[kind](at), at, userId: 'usr_bench', clientId: 'cli_bench', upstreamId: 'ups_bench', upstreamName: 'bench', tool: 'echo', outcome: 'ok', error: null, durationMs: 1, arguments: null };
    });
    insert(insertManySql('tool_calls', rows));
  }
  const used = process.cpuUsage(cpu);
  const rows = BATCH * BATCHES;
  process.stdout.write(`${kind.padEnd(13)} ${((used.user + used.system) / rows).toFixed(1)} µs CPU per row (${(used.system / rows).toFixed(1)} µs in the kernel), ${rows} rows\n`);
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
