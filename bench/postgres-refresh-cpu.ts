import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
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
  const before = { server: cpuTicks(server.pid!), postgres: postgresTicks(), generator: cpuTicks(process.pid) };
  const result = await load(SECONDS);
  const after = { server: cpuTicks(server.pid!), postgres: postgresTicks(), generator: cpuTicks(process.pid) };
  const perRefresh = (ticks: number) => ((ticks * TICK_US) / result.requests.total).toFixed(0);
  process.stdout.write(
    `${onSqlite ? 'SQLite' : 'PostgreSQL'}: ${(result.requests.total / result.duration).toFixed(0)} refreshes/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}\n` +
      `CPU per refresh: server ${perRefresh(after.server - before.server)} µs, postgres processes ${onSqlite ? '-' : perRefresh(after.postgres - before.postgres)} µs, load generator ${perRefresh(after.generator - before.generator)} µs\n` +
      `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
  );
} finally {
  await server.stop();
  await database?.drop();
}
