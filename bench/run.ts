import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { codeExchangeBody, mintCodes, mintRefreshTokens, prepareClient, refreshBody, refreshChainRequest, type BenchClient } from './oauth-fixtures.js';
import { mintPeerRefreshTokens, PEER_CLIENT_ID, startOidcProviderPeer } from './oidc-provider-peer.js';
import { createBenchDatabase, postgresRunsEnabled, shareOf, type BenchDatabase } from './postgres-database.js';
import { cpuMs, cpuTimesMs, schedTimesMs } from './process-stats.js';
import { startBareServer, startGatehouse, type BenchServer } from './servers.js';

/**
 * Token endpoint throughput: refresh-token grants on SQLite, on PostgreSQL (a database the benchmark creates and
 * drops) and on node-oidc-provider in memory (the peer, bench/oidc-provider-peer.ts) in interleaved rounds after a
 * warm-up, authorization-code exchanges on SQLite, at 32 connections, next to a bare node:http server measured in the
 * same run. Prints numbers; asserts nothing (see README.md).
 */
const CONNECTIONS = 32;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
/** Codes are single-use and live 60 s, so the exchange benchmark runs a fixed number of them, minted beforehand. */
const CODES = Number(process.env.BENCH_CODES ?? 2000);
/** Minting stops after this long, leaving the exchanges the rest of the codes' 60 s lifetime. */
const MINT_BUDGET_MS = 35_000;
/** Issue 11: the SQLite refresh rate at least 2.5× the peer's, p99 under 25 ms; issue 20: PostgreSQL at least half SQLite's. */
const TARGET = { peerMultiple: 2.5, p99Ms: 25, postgresShare: 0.5 };
/** The refresh load is split into rounds that take the backends in turn, after an unmeasured warm-up of each. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = 2;
/** Which timed runs to make (comma-separated); the default is all three. `bare,refresh` skips the code exchanges. */
const RUNS = new Set((process.env.BENCH_RUNS ?? 'bare,refresh,code').split(',').map((run) => run.trim()));
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/**
 * Another build of Gatehouse (a directory holding its `dist/`, e.g. an earlier commit built in a scratch copy) to
 * measure as one more SQLite refresh target in the same rounds: a before/after in one run, on the same load.
 */
const BASELINE = process.env.BENCH_BASELINE;

interface Row {
  name: string;
  result: Result;
  /** Server CPU time (user + system) per request, µs: what the machine's load moves least. */
  cpuUsPerGrant?: number;
  /** The server's main thread's part of it (the rest is its other threads: the signing worker, the checkpointer, V8's GC helpers). */
  mainThreadCpuUsPerGrant?: number;
  /**
   * The main thread's time in the kernel (system calls: the socket's reads and writes, SQLite's WAL writes and locks).
   * Its share tells the VMs apart: where a system call costs several µs, the durable rotation pays for each of its own.
   */
  mainThreadKernelUsPerGrant?: number;
  /** The load generator's (this process's) CPU time per request, µs: near 1 s per second, it limits the rate. */
  generatorCpuUsPerGrant?: number;
  /**
   * Shares of the main thread's wall time: on a CPU, runnable but waiting for one (the other threads and the load
   * generator had both cores), and asleep (no request ready, or a wait for the disk). The rate is the running share
   * over the main thread's CPU per grant.
   */
  mainThreadTime?: { running: number; waiting: number; asleep: number };
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

/** One token endpoint (a backend's Gatehouse, or the peer) with its client, its pool of refresh chains (`refreshChainRequest`) and how new chains are made. */
interface RefreshTarget {
  name: string;
  client: Pick<BenchClient, 'issuer' | 'clientId' | 'resource'>;
  pool: string[];
  mint(count: number): Promise<string[]>;
  /** The server's process, whose CPU time is counted. */
  pid: number;
}

/** A timed run on one target: what autocannon measured, and the CPU ms the server and this process (the load generator) spent. */
interface RefreshRound {
  result: Result;
  cpuMs: number;
  mainThreadCpuMs: number;
  mainThreadKernelMs: number;
  generatorCpuMs: number;
  wallMs: number;
  mainThreadRunningMs: number;
  mainThreadWaitingMs: number;
}

async function refreshFor(target: RefreshTarget, seconds: number): Promise<RefreshRound> {
  // A finished run drops the answers in flight, and with them their chains.
  if (target.pool.length < CONNECTIONS) target.pool.push(...(await target.mint(CONNECTIONS - target.pool.length)));
  const cpuBefore = cpuMs(target.pid);
  const mainThreadBefore = cpuTimesMs(target.pid, target.pid);
  const schedBefore = schedTimesMs(target.pid, target.pid);
  const generatorBefore = process.cpuUsage();
  const startedAt = performance.now();
  const result = await autocannon({ url: target.client.issuer, connections: CONNECTIONS, duration: seconds, requests: [refreshChainRequest(target.client, target.pool)] });
  const wallMs = performance.now() - startedAt;
  const generator = process.cpuUsage(generatorBefore);
  const mainThread = cpuTimesMs(target.pid, target.pid);
  const sched = schedTimesMs(target.pid, target.pid);
  return {
    wallMs,
    mainThreadRunningMs: sched.running - schedBefore.running,
    mainThreadWaitingMs: sched.waiting - schedBefore.waiting,
    result,
    cpuMs: cpuMs(target.pid) - cpuBefore,
    mainThreadCpuMs: mainThread.user + mainThread.system - mainThreadBefore.user - mainThreadBefore.system,
    mainThreadKernelMs: mainThread.system - mainThreadBefore.system,
    generatorCpuMs: (generator.user + generator.system) / 1000,
  };
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
  const rounds = targets.map(() => [] as RefreshRound[]);
  const seconds = Math.max(1, Math.round(DURATION_SECONDS / ROUNDS));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [index, target] of targets.entries()) rounds[index]!.push(await refreshFor(target, seconds));
  }
  return targets.map((target, index) => {
    const result = combined(rounds[index]!.map((round) => round.result));
    const total = (of: (round: RefreshRound) => number) => rounds[index]!.reduce((sum, round) => sum + of(round), 0);
    const perGrant = (of: (round: RefreshRound) => number) => (total(of) * 1000) / result.requests.total;
    const wall = total((round) => round.wallMs);
    const running = total((round) => round.mainThreadRunningMs) / wall;
    const waiting = total((round) => round.mainThreadWaitingMs) / wall;
    return {
      name: `refresh_token grant (${target.name})`,
      result,
      cpuUsPerGrant: perGrant((round) => round.cpuMs),
      mainThreadCpuUsPerGrant: perGrant((round) => round.mainThreadCpuMs),
      mainThreadKernelUsPerGrant: perGrant((round) => round.mainThreadKernelMs),
      generatorCpuUsPerGrant: perGrant((round) => round.generatorCpuMs),
      mainThreadTime: { running, waiting, asleep: Math.max(0, 1 - running - waiting) },
    };
  });
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
  const line = (cells: string[]) => `${cells[0]!.padEnd(36)}${cells.slice(1).map((cell) => cell.padStart(10)).join('')}`;
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
    const [bare, gatehouse, onPostgres, peer, baseline] = await Promise.all([
      startBareServer(),
      startGatehouse(),
      database ? startGatehouse(['--database-url', database.url]) : undefined,
      startOidcProviderPeer(),
      BASELINE ? startGatehouse([], { cli: path.join(BASELINE, 'dist/cli.js') }) : undefined,
    ]);
    servers.push(bare, gatehouse, peer, ...(onPostgres ? [onPostgres] : []), ...(baseline ? [baseline] : []));
    const client = await prepareClient(gatehouse.url);
    const rows: Row[] = [];
    if (RUNS.has('bare')) {
      process.stdout.write('- bare node:http\n');
      rows.push({ name: 'bare node:http (ceiling)', result: await bareCeiling(bare, client) });
    }
    const gatehouseTarget = (name: string, of: BenchClient, server: BenchServer): RefreshTarget => ({ name, client: of, pool: [], mint: (count) => mintRefreshTokens(of, count), pid: server.pid! });
    const targets: RefreshTarget[] = [gatehouseTarget('SQLite', client, gatehouse)];
    targets.push({ name: 'oidc-provider', client: { issuer: peer.url, clientId: PEER_CLIENT_ID, resource: `${peer.url}/mcp` }, pool: [], mint: (count) => mintPeerRefreshTokens(peer, count), pid: peer.pid! });
    if (onPostgres) targets.push(gatehouseTarget('PostgreSQL', await prepareClient(onPostgres.url), onPostgres));
    if (baseline) targets.push(gatehouseTarget('baseline', await prepareClient(baseline.url), baseline));
    const refresh = RUNS.has('refresh') ? await refreshGrants(targets) : [];
    rows.push(...refresh);
    const exchange = RUNS.has('code') ? await codeExchanges(client) : undefined;
    if (exchange) rows.push({ name: 'authorization_code exchange', result: exchange });

    printTable(rows, RUNS.has('bare') ? perSecond(rows[0]!.result) : undefined);
    const resultOf = (name: string) => refresh.find((row) => row.name === `refresh_token grant (${name})`)?.result;
    const [onSqlite, onPeer, postgres, onBaseline] = ['SQLite', 'oidc-provider', 'PostgreSQL', 'baseline'].map(resultOf);
    if (onSqlite && onPeer) {
      const multiple = perSecond(onSqlite) / perSecond(onPeer);
      const met = multiple >= TARGET.peerMultiple && onSqlite.latency.p99 < TARGET.p99Ms;
      process.stdout.write(`\nRefresh grants on SQLite: ${multiple.toFixed(2)}× oidc-provider's rate, p99 ${onSqlite.latency.p99} ms (oidc-provider ${onPeer.latency.p99} ms) (target >= ${TARGET.peerMultiple}× with p99 < ${TARGET.p99Ms} ms): ${met ? 'met' : 'NOT met'}\n`);
      if (onBaseline) process.stdout.write(`The baseline (${BASELINE}): ${(perSecond(onBaseline) / perSecond(onPeer)).toFixed(2)}× oidc-provider's rate, p99 ${onBaseline.latency.p99} ms\n`);
      const target = (row: Row) => row.name.replace(/^refresh_token grant \((.*)\)$/, '$1');
      const per = (row: Row, value: number | undefined) => `${target(row)} ${(value ?? 0).toFixed(0)} µs`;
      process.stdout.write(`Server CPU per refresh grant: ${refresh.map((row) => per(row, row.cpuUsPerGrant)).join(', ')}\n`);
      process.stdout.write(`  of it on the main thread: ${refresh.map((row) => per(row, row.mainThreadCpuUsPerGrant)).join(', ')}\n`);
      process.stdout.write(`  of that in the kernel: ${refresh.map((row) => per(row, row.mainThreadKernelUsPerGrant)).join(', ')}\n`);
      process.stdout.write(`Load generator (this process) CPU per grant: ${refresh.map((row) => per(row, row.generatorCpuUsPerGrant)).join(', ')}\n`);
      const shares = (row: Row) => {
        const percent = (share = 0) => `${(share * 100).toFixed(0)} %`;
        const time = row.mainThreadTime;
        return `${target(row)} running ${percent(time?.running)}, waiting for a core ${percent(time?.waiting)}, asleep ${percent(time?.asleep)}`;
      };
      process.stdout.write(`Main thread's time: ${refresh.map(shares).join('; ')}\n`);
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
