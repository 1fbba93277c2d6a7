import autocannon, { type Result } from 'autocannon';
import { codeExchangeBody, mintCodes, prepareClient, refreshBody, refreshChainRequest, topUpRefreshTokens, type BenchClient } from './oauth-fixtures.js';
import { createBenchDatabase, postgresRunsEnabled, shareOf, type BenchDatabase } from './postgres-database.js';
import { startBareServer, startGatehouse, type BenchServer } from './servers.js';

/**
 * Token endpoint throughput: refresh-token grants on SQLite and on PostgreSQL (a database the benchmark creates and
 * drops) in interleaved rounds after a warm-up, authorization-code exchanges on SQLite, at 32 connections, next to
 * a bare node:http server measured in the same run. Prints numbers; asserts nothing (see README.md).
 */
const CONNECTIONS = 32;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
/** Codes are single-use and live 60 s, so the exchange benchmark runs a fixed number of them, minted beforehand. */
const CODES = Number(process.env.BENCH_CODES ?? 2000);
/** Minting stops after this long, leaving the exchanges the rest of the codes' 60 s lifetime. */
const MINT_BUDGET_MS = 35_000;
const TARGET = { refreshPerSecond: 3000, p99Ms: 25, postgresShare: 0.5 };
/** The refresh load is split into rounds that take the backends in turn, after an unmeasured warm-up of each. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = 2;
/** Which timed runs to make (comma-separated); the default is all three. `bare,refresh` skips the code exchanges. */
const RUNS = new Set((process.env.BENCH_RUNS ?? 'bare,refresh,code').split(',').map((run) => run.trim()));
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface Row {
  name: string;
  result: Result;
}

function perSecond(result: Result): number {
  return result.requests.total / result.duration;
}

async function bareCeiling(bare: BenchServer, client: BenchClient): Promise<Result> {
  return autocannon({
    url: bare.url,
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    requests: [{ method: 'POST', path: '/oauth/token', headers: FORM, body: refreshBody(client, 'gth_rt_bare') }],
  });
}

/** One backend's Gatehouse with its client and its pool of refresh chains (`refreshChainRequest`). */
interface RefreshTarget {
  name: string;
  client: BenchClient;
  pool: string[];
}

async function refreshFor(target: RefreshTarget, seconds: number): Promise<Result> {
  // A finished run drops the answers in flight, and with them their chains.
  await topUpRefreshTokens(target.client, target.pool, CONNECTIONS);
  return autocannon({ url: target.client.issuer, connections: CONNECTIONS, duration: seconds, requests: [refreshChainRequest(target.client, target.pool)] });
}

/** The rounds of one backend taken together: the rate from the totals, latencies the median of the rounds' own. */
function combined(rounds: Result[]): Result {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const sum = (of: (round: Result) => number) => rounds.reduce((total, round) => total + of(round), 0);
  const first = rounds[0]!;
  return {
    ...first,
    duration: sum((round) => round.duration),
    requests: { ...first.requests, total: sum((round) => round.requests.total) },
    latency: { ...first.latency, p50: median(rounds.map((round) => round.latency.p50)), p99: median(rounds.map((round) => round.latency.p99)) },
    non2xx: sum((round) => round.non2xx),
    errors: sum((round) => round.errors),
    timeouts: sum((round) => round.timeouts),
  };
}

/** Warm-up, then `ROUNDS` rounds taking the backends in turn, so a machine that speeds up or slows down weighs on both. */
async function refreshGrants(targets: RefreshTarget[]): Promise<Row[]> {
  process.stdout.write(`- refresh_token grants: warm-up ${WARMUP_SECONDS} s each, then ${ROUNDS} interleaved rounds\n`);
  for (const target of targets) await refreshFor(target, WARMUP_SECONDS);
  const rounds = targets.map(() => [] as Result[]);
  const seconds = Math.max(1, Math.round(DURATION_SECONDS / ROUNDS));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [index, target] of targets.entries()) rounds[index]!.push(await refreshFor(target, seconds));
  }
  return targets.map((target, index) => ({ name: `refresh_token grant (${target.name})`, result: combined(rounds[index]!) }));
}

async function codeExchanges(client: BenchClient): Promise<Result> {
  process.stdout.write('- authorization_code exchanges\n');
  const started = Date.now();
  const codes = await mintCodes(client, CODES + CONNECTIONS, started + MINT_BUDGET_MS);
  const amount = codes.length - CONNECTIONS;
  if (amount < CONNECTIONS) throw new Error(`only ${codes.length} codes minted in ${MINT_BUDGET_MS / 1000} s`);
  process.stdout.write(`  minted ${codes.length} codes in ${((Date.now() - started) / 1000).toFixed(1)} s; exchanging ${amount}\n`);
  return autocannon({
    url: client.issuer,
    connections: CONNECTIONS,
    amount,
    requests: [{
      method: 'POST',
      path: '/oauth/token',
      headers: FORM,
      // Oldest first, so every code is used well inside its lifetime.
      setupRequest: (request) => ({ ...request, body: codeExchangeBody(client, codes.shift() ?? 'gth_ac_none_left') }),
    }],
  });
}

/** `ceiling` is the bare server's rate, when it was measured in this run. */
function printTable(rows: Row[], ceiling: number | undefined): void {
  const line = (cells: string[]) => `${cells[0]!.padEnd(30)}${cells.slice(1).map((cell) => cell.padStart(10)).join('')}`;
  process.stdout.write(`\n${line(['', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vs bare'])}\n`);
  for (const { name, result } of rows) {
    const rate = perSecond(result);
    const errors = result.errors + result.timeouts;
    process.stdout.write(`${line([name, rate.toFixed(0), String(result.latency.p50), String(result.latency.p99), String(result.non2xx), String(errors), ceiling ? `${((rate / ceiling) * 100).toFixed(1)}%` : '-'])}\n`);
  }
}

async function main(): Promise<void> {
  process.stdout.write(`Token endpoint, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per timed run, up to ${CODES} code exchanges, runs: ${[...RUNS].join(', ')}; PostgreSQL ${postgresRunsEnabled ? 'beside SQLite' : 'off'}\n`);
  const database: BenchDatabase | undefined = postgresRunsEnabled ? await createBenchDatabase() : undefined;
  const servers: BenchServer[] = [];
  try {
    const [bare, gatehouse, onPostgres] = await Promise.all([
      startBareServer(),
      startGatehouse(),
      database ? startGatehouse(['--database-url', database.url]) : undefined,
    ]);
    servers.push(bare, gatehouse, ...(onPostgres ? [onPostgres] : []));
    const client = await prepareClient(gatehouse.url);
    const rows: Row[] = [];
    if (RUNS.has('bare')) {
      process.stdout.write('- bare node:http\n');
      rows.push({ name: 'bare node:http (ceiling)', result: await bareCeiling(bare, client) });
    }
    const targets: RefreshTarget[] = [{ name: 'SQLite', client, pool: [] }];
    if (onPostgres) targets.push({ name: 'PostgreSQL', client: await prepareClient(onPostgres.url), pool: [] });
    const refresh = RUNS.has('refresh') ? await refreshGrants(targets) : [];
    rows.push(...refresh);
    const exchange = RUNS.has('code') ? await codeExchanges(client) : undefined;
    if (exchange) rows.push({ name: 'authorization_code exchange', result: exchange });

    printTable(rows, RUNS.has('bare') ? perSecond(rows[0]!.result) : undefined);
    const [onSqlite, postgres] = refresh.map((row) => row.result);
    if (onSqlite) {
      const met = perSecond(onSqlite) >= TARGET.refreshPerSecond && onSqlite.latency.p99 < TARGET.p99Ms;
      process.stdout.write(`\nTarget for refresh grants on SQLite: >= ${TARGET.refreshPerSecond}/s with p99 < ${TARGET.p99Ms} ms: ${met ? 'met' : 'NOT met'}\n`);
    }
    if (onSqlite && postgres) {
      const share = perSecond(postgres) / perSecond(onSqlite);
      process.stdout.write(`PostgreSQL refresh grants: ${shareOf(perSecond(postgres), perSecond(onSqlite))} of the SQLite rate (target >= ${TARGET.postgresShare * 100}%): ${share >= TARGET.postgresShare ? 'met' : 'NOT met'}\n`);
    }
    if (rows.some(({ result }) => result.non2xx > 0)) process.stdout.write('Some token requests failed (non-2xx): the rates above include failures.\n');
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
  }
}

await main();
