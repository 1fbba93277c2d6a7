import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_MCP_SESSIONS, MCP_SESSION_HIBERNATE_CHECK_MS, MCP_SESSION_HIBERNATE_MS } from '../src/gateway/mcp-sessions.js';
import { idleSessionOwners, MCP_HEADERS, openIdleSessions, rpcResult } from './mcp-http.js';
import { rssKiB } from './process-stats.js';
import { startChild, startGatehouse, type BenchServer } from './servers.js';

/**
 * Heap per idle MCP session (issue 11: at most 8 KiB with 10,000 sessions open). A real `gatehouse serve` (the build
 * in dist/, SQLite, one stateless SDK upstream as in `npm run bench:gateway`) runs with `--expose-gc` and the
 * bench-only `bench/heap-probe.mjs`, which collects garbage and writes `process.memoryUsage()` on SIGUSR2: no
 * endpoint of the server is involved. Sessions are opened through `initialize` + `notifications/initialized` with the
 * API keys of enough users (100 sessions each at most), 16 at a time. Prints numbers; asserts nothing.
 */
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? MAX_MCP_SESSIONS);
/** Sessions opened and ended first, unmeasured: the code paths and caches they warm are not the sessions' cost. */
const WARMUP_SESSIONS = 200;
/** Sessions used again after they left memory, to show that they still answer. */
const WAKE_SESSIONS = 100;
const TARGET_KIB = 8;

interface Heap {
  heapUsed: number;
  rss: number;
}

/** The server's heap after a full collection (bench/heap-probe.mjs). */
async function heapOf(server: BenchServer, file: string): Promise<Heap> {
  const last = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { sample: number }).sample : 0;
  process.kill(server.pid!, 'SIGUSR2');
  for (let attempt = 0; attempt < 200; attempt += 1) {
    await sleep(50);
    if (!existsSync(file)) continue;
    const sample = JSON.parse(readFileSync(file, 'utf8')) as Heap & { sample: number };
    if (sample.sample > last) return sample;
  }
  throw new Error('the heap probe did not answer');
}

/** Sessions the server holds in memory (its `gatehouse_mcp_sessions` gauge). */
async function heldSessions(server: BenchServer): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^gatehouse_mcp_sessions (\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
}

async function endSessions(url: string, sessions: Array<Record<string, string>>): Promise<void> {
  for (const session of sessions) await (await fetch(url, { method: 'DELETE', headers: session })).arrayBuffer();
}

/** `tools/list` on `sessions`; how many answered. */
async function answering(url: string, sessions: Array<Record<string, string>>): Promise<number> {
  let ok = 0;
  for (const [index, session] of sessions.entries()) {
    const response = await fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, ...session }, body: JSON.stringify({ jsonrpc: '2.0', id: index + 1, method: 'tools/list' }) });
    if (response.ok && Array.isArray((await rpcResult(response)).result?.tools)) ok += 1;
  }
  return ok;
}

const kib = (bytes: number) => bytes / 1024;
const perSession = (from: Heap, to: Heap, count: number) =>
  `heap ${(kib(to.heapUsed - from.heapUsed) / count).toFixed(2)} KiB, RSS ${(kib(to.rss - from.rss) / count).toFixed(2)} KiB per session`;

async function main(): Promise<void> {
  process.stdout.write(`Heap per idle MCP session: ${SESSIONS} sessions over ${Math.ceil(SESSIONS / 100)} users' API keys\n`);
  const workDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-sessions-'));
  const heapFile = path.join(workDir, 'heap.json');
  const configFile = path.join(workDir, 'gatehouse.json');
  const servers: BenchServer[] = [];
  try {
    const upstream = await startChild(path.join(import.meta.dirname, 'gateway.ts'), ['upstream'], '/mcp');
    servers.push(upstream);
    writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'bench', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
    const gatehouse = await startGatehouse(['--config', configFile, '--allow-private-networks'], {
      nodeArgs: ['--expose-gc', '--import', path.join(import.meta.dirname, 'heap-probe.mjs')],
      env: { BENCH_HEAP_FILE: heapFile },
    });
    servers.push(gatehouse);
    const url = `${gatehouse.url}/mcp`;
    const [warmupOwner] = await idleSessionOwners(gatehouse, WARMUP_SESSIONS, 'bench-warmup');
    const owners = await idleSessionOwners(gatehouse, SESSIONS);
    await endSessions(url, await openIdleSessions(url, [warmupOwner!, warmupOwner!], WARMUP_SESSIONS));

    const empty = await heapOf(gatehouse, heapFile);
    const started = Date.now();
    const sessions = await openIdleSessions(url, owners, SESSIONS);
    const opened = await heapOf(gatehouse, heapFile);
    const heldOpen = await heldSessions(gatehouse);
    process.stdout.write(`- opened ${sessions.length} sessions in ${((Date.now() - started) / 1000).toFixed(1)} s; ${heldOpen} of them in memory\n`);

    // Sessions idle for MCP_SESSION_HIBERNATE_MS leave memory at the next check.
    const deadline = Date.now() + MCP_SESSION_HIBERNATE_MS + 3 * MCP_SESSION_HIBERNATE_CHECK_MS;
    while ((await heldSessions(gatehouse)) > 0 && Date.now() < deadline) await sleep(1000);
    const idle = await heapOf(gatehouse, heapFile);
    const heldIdle = await heldSessions(gatehouse);
    const woken = await answering(url, sessions.slice(0, WAKE_SESSIONS));

    const out = (line: string) => process.stdout.write(`${line}\n`);
    out('');
    out(`Heap with no session: ${kib(empty.heapUsed).toFixed(0)} KiB (RSS ${kib(empty.rss).toFixed(0)} KiB)`);
    out(`Just opened (${heldOpen} of ${sessions.length} in memory): ${perSession(empty, opened, sessions.length)}; per session in memory ${(kib(opened.heapUsed - empty.heapUsed) / Math.max(heldOpen, 1)).toFixed(2)} KiB of heap`);
    const idleKib = kib(idle.heapUsed - empty.heapUsed) / sessions.length;
    out(`Idle (${heldIdle} in memory): ${perSession(empty, idle, sessions.length)} (target <= ${TARGET_KIB} KiB of heap): ${idleKib <= TARGET_KIB ? 'met' : 'NOT met'}`);
    out(`Idle sessions used again: ${woken} of ${Math.min(WAKE_SESSIONS, sessions.length)} answered tools/list`);
    out(`(the gateway process's RSS now: ${(rssKiB(gatehouse.pid!) / 1024).toFixed(1)} MiB)`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
