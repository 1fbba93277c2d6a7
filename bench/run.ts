import autocannon, { type Result } from 'autocannon';
import { codeExchangeBody, mintCodes, mintRefreshTokens, prepareClient, refreshBody, refreshChainRequest, type BenchClient } from './oauth-fixtures.js';
import { startBareServer, startGatehouse, type BenchServer } from './servers.js';

/**
 * Token endpoint throughput on SQLite: refresh-token grants and authorization-code exchanges at 32 connections,
 * next to a bare node:http server measured in the same run. Prints numbers; asserts nothing (see README.md).
 */
const CONNECTIONS = 32;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
/** Codes are single-use and live 60 s, so the exchange benchmark runs a fixed number of them, minted beforehand. */
const CODES = Number(process.env.BENCH_CODES ?? 2000);
/** Minting stops after this long, leaving the exchanges the rest of the codes' 60 s lifetime. */
const MINT_BUDGET_MS = 35_000;
const TARGET = { refreshPerSecond: 3000, p99Ms: 25 };
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

/** Each connection follows its own refresh chain (`refreshChainRequest`). */
async function refreshGrants(client: BenchClient): Promise<Result> {
  process.stdout.write('- refresh_token grants\n');
  const pool = await mintRefreshTokens(client, CONNECTIONS);
  return autocannon({ url: client.issuer, connections: CONNECTIONS, duration: DURATION_SECONDS, requests: [refreshChainRequest(client, pool)] });
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
  process.stdout.write(`Token endpoint on SQLite, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per timed run, up to ${CODES} code exchanges, runs: ${[...RUNS].join(', ')}\n`);
  const [bare, gatehouse] = await Promise.all([startBareServer(), startGatehouse()]);
  try {
    const client = await prepareClient(gatehouse.url);
    const rows: Row[] = [];
    if (RUNS.has('bare')) {
      process.stdout.write('- bare node:http\n');
      rows.push({ name: 'bare node:http (ceiling)', result: await bareCeiling(bare, client) });
    }
    const refresh = RUNS.has('refresh') ? await refreshGrants(client) : undefined;
    if (refresh) rows.push({ name: 'refresh_token grant', result: refresh });
    const exchange = RUNS.has('code') ? await codeExchanges(client) : undefined;
    if (exchange) rows.push({ name: 'authorization_code exchange', result: exchange });

    printTable(rows, RUNS.has('bare') ? perSecond(rows[0]!.result) : undefined);
    if (refresh) {
      const met = perSecond(refresh) >= TARGET.refreshPerSecond && refresh.latency.p99 < TARGET.p99Ms;
      process.stdout.write(`\nTarget for refresh grants: >= ${TARGET.refreshPerSecond}/s with p99 < ${TARGET.p99Ms} ms: ${met ? 'met' : 'NOT met'}\n`);
    }
    if (rows.some(({ result }) => result.non2xx > 0)) process.stdout.write('Some token requests failed (non-2xx): the rates above include failures.\n');
  } finally {
    await Promise.all([bare.stop(), gatehouse.stop()]);
  }
}

await main();
