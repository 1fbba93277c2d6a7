import { statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { prepareClient, refreshChainRequest, topUpRefreshTokens, type BenchClient } from './oauth-fixtures.js';
import { startGatehouse, type BenchServer } from './servers.js';

/**
 * Storage under sustained refresh load: two `gatehouse serve` processes on SQLite, one sweeping every few seconds
 * with short retention horizons, one whose sweep never comes round during the run. They take the load in turns
 * (interleaved rounds, so machine drift weighs on both alike) while the size of each one's database files is
 * sampled. Prints numbers; asserts nothing (see README.md).
 */
const CONNECTIONS = 32;
/** Seconds of load per server, split into rounds. */
const LOAD_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 120);
/** Short rounds: on a shared machine a load swing during one long round would decide the comparison. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const WARMUP_SECONDS = 5;
const SAMPLE_EVERY_MS = 10_000;

/** Short horizons so that a few minutes show the steady state: rotated tokens go 30 s after rotation. */
const SWEEPING = { retention: { sweepIntervalSeconds: 5, rotatedRefreshTokenSeconds: 30, authorizationCodeSeconds: 30, endedGrantSeconds: 30 } };
/** The same server with a sweep that would first run in a day: what the database does without retention. */
const NOT_SWEEPING = { retention: { sweepIntervalSeconds: 24 * 3600 } };

interface Contender {
  name: string;
  server: BenchServer;
  client: BenchClient;
  pool: string[];
  rounds: Result[];
  /** Refreshes answered 200 so far, counted as they arrive. */
  refreshed: number;
}

/** One connection per refresh chain, as in bench/run.ts; chains lost with the last run's answers in flight are replaced first. */
async function refreshLoad(contender: Contender, seconds: number): Promise<Result> {
  await topUpRefreshTokens(contender.client, contender.pool, CONNECTIONS);
  const request = refreshChainRequest(contender.client, contender.pool);
  const chain = request.onResponse!;
  request.onResponse = (status, body, context) => {
    if (status === 200) contender.refreshed += 1;
    chain(status, body, context);
  };
  return autocannon({ url: contender.client.issuer, connections: CONNECTIONS, duration: seconds, requests: [request] });
}

/** The main file plus its write-ahead log, in MB. */
function databaseMegabytes(dataDir: string): { db: number; wal: number } {
  const size = (file: string) => {
    try {
      return statSync(path.join(dataDir, file)).size / 1024 / 1024;
    } catch {
      return 0;
    }
  };
  return { db: size('gatehouse.db'), wal: size('gatehouse.db-wal') };
}

async function startContender(name: string, settings: object, configDir: string): Promise<Contender> {
  const file = path.join(configDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(settings));
  const server = await startGatehouse(['--config', file]);
  const client = await prepareClient(server.url);
  return { name, server, client, pool: [], rounds: [], refreshed: 0 };
}

interface Sample {
  seconds: number;
  sizes: { db: number; wal: number }[];
  refreshes: number[];
}

/** One line per sample, a bar per server side by side: the total of db and wal, scaled to `width` characters. */
function chart(samples: Sample[], contenders: Contender[], width = 50): string {
  const largest = Math.max(...samples.flatMap((sample) => sample.sizes.map((size) => size.db + size.wal)), 1);
  const bar = (megabytes: number) => `|${'#'.repeat(Math.round((megabytes / largest) * width)).padEnd(width)}| ${megabytes.toFixed(1).padStart(5)}`;
  const lines = [
    `database + WAL (MB), one line per ${SAMPLE_EVERY_MS / 1000} s; full width = ${largest.toFixed(1)} MB`,
    `${' '.repeat(8)}${contenders.map((contender) => ` ${contender.name}`.padEnd(width + 13)).join('')}`,
  ];
  for (const sample of samples) {
    lines.push(`${String(sample.seconds).padStart(5)} s ${sample.sizes.map((size) => bar(size.db + size.wal)).join('    ')}`);
  }
  return lines.join('\n');
}

function summary(contender: Contender): { rate: number; p99: number; non2xx: number; total: number } {
  const total = contender.rounds.reduce((sum, round) => sum + round.requests.total, 0);
  const seconds = contender.rounds.reduce((sum, round) => sum + round.duration, 0);
  const p99s = contender.rounds.map((round) => round.latency.p99).sort((a, b) => a - b);
  return { rate: total / seconds, p99: p99s[Math.floor(p99s.length / 2)]!, non2xx: contender.rounds.reduce((sum, round) => sum + round.non2xx, 0), total };
}

async function main(): Promise<void> {
  const roundSeconds = LOAD_SECONDS / ROUNDS;
  process.stdout.write(`Soak: refresh grants at ${CONNECTIONS} connections, ${LOAD_SECONDS} s per server in ${ROUNDS} interleaved rounds of ${roundSeconds} s\n`);
  process.stdout.write(`sweeping: ${JSON.stringify(SWEEPING.retention)}; not sweeping: ${JSON.stringify(NOT_SWEEPING.retention)}\n`);
  const configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-soak-'));
  const contenders = [await startContender('sweeping', SWEEPING, configDir), await startContender('not sweeping', NOT_SWEEPING, configDir)];
  const samples: Sample[] = [];
  const started = Date.now();
  const sample = () =>
    samples.push({
      seconds: Math.round((Date.now() - started) / 1000),
      sizes: contenders.map((contender) => databaseMegabytes(contender.server.dataDir!)),
      refreshes: contenders.map((contender) => contender.refreshed),
    });
  try {
    for (const contender of contenders) await refreshLoad(contender, WARMUP_SECONDS);
    sample();
    const sampler = setInterval(sample, SAMPLE_EVERY_MS);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so neither always follows the other's load.
        const order = round % 2 === 0 ? contenders : [...contenders].reverse();
        for (const contender of order) contender.rounds.push(await refreshLoad(contender, roundSeconds));
        process.stdout.write(`  round ${round + 1}/${ROUNDS} done\n`);
      }
    } finally {
      clearInterval(sampler);
    }
    sample();

    const header = `${'t (s)'.padStart(6)}${contenders.map((c) => `${`${c.name} db`.padStart(18)}${'wal'.padStart(8)}${'refreshes'.padStart(11)}`).join('')}`;
    process.stdout.write(`\nDatabase files over time (MB; refreshes so far)\n${header}\n`);
    for (const s of samples) {
      const cells = s.sizes.map((size, index) => `${size.db.toFixed(1).padStart(18)}${size.wal.toFixed(1).padStart(8)}${String(s.refreshes[index]).padStart(11)}`);
      process.stdout.write(`${String(s.seconds).padStart(6)}${cells.join('')}\n`);
    }
    process.stdout.write(`\n${chart(samples, contenders)}\n\n`);
    const [sweeping, plain] = contenders.map(summary) as [ReturnType<typeof summary>, ReturnType<typeof summary>];
    for (const [index, result] of [sweeping, plain].entries()) {
      process.stdout.write(`${contenders[index]!.name.padEnd(14)} ${result.rate.toFixed(0).padStart(6)} refreshes/s, median of rounds' p99 ${result.p99} ms, ${result.total} refreshes, ${result.non2xx} non-2xx\n`);
    }
    process.stdout.write(`Refresh rate while sweeping: ${((sweeping.rate / plain.rate) * 100).toFixed(1)}% of the rate without sweeps\n`);
    if (sweeping.non2xx + plain.non2xx > 0) process.stdout.write('Some refreshes failed (non-2xx): the rates above include failures.\n');
  } finally {
    await Promise.all(contenders.map((contender) => contender.server.stop()));
    rmSync(configDir, { recursive: true, force: true });
  }
}

await main();
