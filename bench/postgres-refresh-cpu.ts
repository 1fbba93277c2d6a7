import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { prepareClient, refreshChainRequest, topUpRefreshTokens } from './oauth-fixtures.js';
import { createBenchDatabase } from './postgres-database.js';
import { startGatehouse } from './servers.js';

/**
 * CPU time per refresh grant, by process: the Gatehouse server, every `postgres` process (the server's backends and
 * PostgreSQL's own workers, so run nothing else against it) and this load generator. On a shared machine the rates
 * move with everyone else's load; the CPU one refresh costs moves much less, so before/after comparisons hold.
 *
 *   npm run build && node --import tsx bench/postgres-refresh-cpu.ts            # PostgreSQL (a database of its own)
 *   BENCH_BACKEND=sqlite node --import tsx bench/postgres-refresh-cpu.ts        # the same on SQLite
 *
 * One run of `BENCH_DURATION` s (default 8) at 32 connections after a 2 s warm-up. Prints numbers, asserts nothing.
 */
const CONNECTIONS = 32;
const SECONDS = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP_SECONDS = 2;
const onSqlite = process.env.BENCH_BACKEND === 'sqlite';
/** /proc/<pid>/stat counts CPU time in clock ticks of 10 ms on Linux. */
const TICK_US = 10_000;

/** User + system CPU ticks of a process; 0 once it is gone. */
function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function postgresTicks(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let name = '';
    try {
      name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (name === 'postgres') ticks += cpuTicks(Number(entry));
  }
  return ticks;
}

/** The bench database's transactions (one per statement outside BEGIN), rows changed, and the server's WAL, so far. */
async function databaseCounters(url: string): Promise<{ statements: number; rowsWritten: number; walBytes: number; walSyncs: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT d.xact_commit + d.xact_rollback AS statements, d.tup_inserted + d.tup_updated + d.tup_deleted AS rows_written,
        w.wal_bytes, w.wal_sync FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`,
    );
    const row = rows[0] as { statements: string; rows_written: string; wal_bytes: string; wal_sync: string };
    return { statements: Number(row.statements), rowsWritten: Number(row.rows_written), walBytes: Number(row.wal_bytes), walSyncs: Number(row.wal_sync) };
  } finally {
    await client.end();
  }
}

const database = onSqlite ? undefined : await createBenchDatabase();
const server = await startGatehouse(database ? ['--database-url', database.url] : []);
try {
  const client = await prepareClient(server.url);
  const pool: string[] = [];
  const load = async (seconds: number) => {
    await topUpRefreshTokens(client, pool, CONNECTIONS);
    return autocannon({ url: client.issuer, connections: CONNECTIONS, duration: seconds, requests: [refreshChainRequest(client, pool)] });
  };
  await load(WARMUP_SECONDS);
  const countersBefore = database && (await databaseCounters(database.url));
  const before = { server: cpuTicks(server.pid!), postgres: postgresTicks(), generator: cpuTicks(process.pid) };
  const result = await load(SECONDS);
  const after = { server: cpuTicks(server.pid!), postgres: postgresTicks(), generator: cpuTicks(process.pid) };
  // Statistics reach the views when a backend goes idle (at most a second later); the 2 s wait lets them land.
  const countersAfter = database && (await sleep(2000), await databaseCounters(database.url));
  const perCount = (count: number, digits = 2) => (count / result.requests.total).toFixed(digits);
  const perRefresh = (ticks: number) => ((ticks * TICK_US) / result.requests.total).toFixed(0);
  process.stdout.write(
    `${onSqlite ? 'SQLite' : 'PostgreSQL'}: ${(result.requests.total / result.duration).toFixed(0)} refreshes/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}\n` +
      `CPU per refresh: server ${perRefresh(after.server - before.server)} µs, postgres processes ${onSqlite ? '-' : perRefresh(after.postgres - before.postgres)} µs, load generator ${perRefresh(after.generator - before.generator)} µs\n` +
      (countersBefore && countersAfter
        ? `per refresh in PostgreSQL (pg_stat_database, pg_stat_wal; a second probe's statements included): ${perCount(countersAfter.statements - countersBefore.statements)} statements, ${perCount(countersAfter.rowsWritten - countersBefore.rowsWritten)} rows written, ${perCount(countersAfter.walBytes - countersBefore.walBytes, 0)} WAL bytes, ${perCount(countersAfter.walSyncs - countersBefore.walSyncs)} WAL syncs\n`
        : '') +
      `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
  );
} finally {
  await server.stop();
  await database?.drop();
}
