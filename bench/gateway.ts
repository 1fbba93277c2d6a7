import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { backendShares, gatewayRoutes, type GatewayRoute } from './gateway-backends.js';
import { eraComparison, startEraRoutes, type EraRoute } from './gateway-eras.js';
import { idleSessionOwners, openIdleSessions, openSession, rpcResult } from './mcp-http.js';
import { createBenchDatabase, postgresRunsEnabled, type BenchDatabase } from './postgres-database.js';
import { cpuTimesMs, rssKiB } from './process-stats.js';
import { startChild, startGatehouse, type BenchServer } from './servers.js';

/**
 * `tools/call` through the gateway (on SQLite, and on PostgreSQL in a database the benchmark creates and drops; each
 * with an API key and with an OAuth access token) against the same call made directly to the upstream, in one run
 * at 32 connections, and the MCP eras beside them (bench/gateway-eras.ts: a 2026-07-28 stateless call and a 2025
 * session's, to a 2025 and to a 2026-07-28 upstream); then the gateway's memory per idle MCP session. Prints numbers;
 * asserts nothing (README.md).
 */
const CONNECTIONS = 32;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 16);
/** The timed load is split into rounds that take the routes in turn (see `measure`); a multiple of 4 balances `roundOrder`. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const IDLE_SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
/** Calls made one at a time to measure the latency the gateway adds when nothing queues. */
const SEQUENTIAL_CALLS = Number(process.env.BENCH_SEQUENTIAL ?? 1000);
/** `BENCH_ERAS=off` leaves out the 2026-07-28 routes (bench/gateway-eras.ts), for a shorter run. */
const ERA_ROUTES = process.env.BENCH_ERAS !== 'off';
/**
 * `BENCH_BASELINE=<dir>`: a checkout whose `dist/` holds another build (the code before a change); its SQLite gateway's
 * OAuth route is measured in the same rounds, beside this build's (then its only route), so a change is compared with
 * what it changes within one run.
 */
const BASELINE = process.env.BENCH_BASELINE;
/** Calls made first and not measured, so that neither server is measured while its JIT compiles the path. */
const WARMUP_CALLS = 500;
/**
 * Issue 11: with either credential at least 75% of the direct rate and at most 1.5x the bare proxy's CPU per call;
 * issue 4: at most 1 ms added to the median; issue 20: PostgreSQL at 85% of SQLite.
 */
const TARGET = { throughputShare: 0.75, cpuVsProxy: 1.5, addedMedianMs: 1, postgresShare: 0.85 };
const ECHO_TEXT = 'hello through the gateway';

// ---------------------------------------------------------------------------------------------------------------
// The upstream: a real SDK server (McpServer, its echo tool's input checked by zod), stateless Streamable HTTP with JSON responses, run in its own process
// (`bench/gateway.ts upstream`) so that it does not share a core with the load generator.

function echoServer(): McpServer {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool('echo', { description: 'Returns its text', inputSchema: { text: z.string() }, annotations: { readOnlyHint: true } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

/** Stateless mode: the SDK wants a fresh transport (and so a fresh server) for every request. */
async function serveEchoUpstream(): Promise<void> {
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
    const server = echoServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${(http.address() as AddressInfo).port}\n`);
}

/**
 * The floor of any gateway: a bare node:http proxy that forwards each POST's bytes to the upstream over a keep-alive
 * agent and the answer back, checking nothing. What it adds to a call is the cost of one more HTTP hop on this machine.
 */
async function serveBareProxy(target: URL): Promise<void> {
  const agent = new HttpAgent({ keepAlive: true });
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const forwarded = httpRequest({ hostname: target.hostname, port: target.port, path: target.pathname, method: req.method, headers, agent }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const copied = Object.fromEntries(['content-type', 'mcp-session-id'].flatMap((name) => (answer.headers[name] ? [[name, answer.headers[name]!]] : [])));
          res.writeHead(answer.statusCode ?? 502, copied).end(Buffer.concat(parts));
        });
      });
      forwarded.on('error', () => res.writeHead(502).end());
      forwarded.end(body);
    });
  });
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${(http.address() as AddressInfo).port}\n`);
}

const startEchoUpstream = () => startChild(fileURLToPath(import.meta.url), ['upstream'], '/mcp');
const startBareProxy = (upstream: BenchServer) => startChild(fileURLToPath(import.meta.url), ['proxy', upstream.url], '/mcp');

// ---------------------------------------------------------------------------------------------------------------
// What autocannon sends must be the same bytes a real client sends (bench/mcp-http.ts).

let nextId = 1;
const toolCall = (name: string) => JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: { text: ECHO_TEXT } } });

/** The gateway connects its upstreams in the background: wait until the echo tool is listed, return its name there. */
async function gatewayEchoName(url: string, session: Record<string, string>): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const response = await fetch(url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/list' }) });
    const tools = ((await rpcResult(response)).result?.tools ?? []) as { name: string }[];
    const echo = tools.find((tool) => tool.name.endsWith('echo'));
    if (echo) return echo.name;
    await sleep(100);
  }
  throw new Error('the gateway never listed the upstream echo tool');
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements.

/** One timed load on one route: what autocannon measured, and the answers that were not the echo. */
interface LoadRound {
  result: Result;
  /** 2xx answers that are not the echoed text (a tool error, a JSON-RPC error). */
  wrongAnswers: number;
  calls: number;
}

async function loadTools(url: string, session: Record<string, string>, tool: string, seconds: number, body = toolCall): Promise<LoadRound> {
  let wrongAnswers = 0;
  const target = new URL(url);
  const result = await autocannon({
    url: target.origin,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{
      method: 'POST',
      path: target.pathname,
      headers: session,
      // Every request gets its own JSON-RPC id: a session routes answers by id.
      setupRequest: (request) => ({ ...request, body: body(tool) }),
      onResponse: (status, body) => {
        if (status < 300 && (!body.includes(ECHO_TEXT) || body.includes('"isError":true') || body.includes('"error"'))) wrongAnswers += 1;
      },
    }],
  });
  return { result, wrongAnswers, calls: result.requests.total };
}

/** The rounds of one route taken together: rates from the totals, latencies as the median of the rounds' own. */
interface LoadRun {
  perSecond: number;
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  wrongAnswers: number;
  errors: number;
  cpuUsPerCall: number;
  /** The part of `cpuUsPerCall` spent in the kernel (sockets, loopback TCP). */
  systemUsPerCall: number;
  /** The part of `cpuUsPerCall` spent on the main thread; the rest is V8's and libuv's helper threads (GC, workers). */
  mainUsPerCall: number;
}

/** A round's CPU time per call: in all, the kernel's part, and the main thread's part. */
interface CpuPerCall {
  cpuUsPerCall: number;
  systemUsPerCall: number;
  mainUsPerCall: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function combined(rounds: Array<LoadRound & CpuPerCall>): LoadRun {
  const calls = rounds.reduce((sum, round) => sum + round.calls, 0);
  const seconds = rounds.reduce((sum, round) => sum + round.result.duration, 0);
  const sum = (of: (round: LoadRound & CpuPerCall) => number) => rounds.reduce((total, round) => total + of(round), 0);
  return {
    perSecond: calls / seconds,
    p50: median(rounds.map((round) => round.result.latency.p50)),
    p99: median(rounds.map((round) => round.result.latency.p99)),
    mean: sum((round) => round.result.latency.average * round.calls) / calls,
    non2xx: sum((round) => round.result.non2xx),
    wrongAnswers: sum((round) => round.wrongAnswers),
    errors: sum((round) => round.result.errors + round.result.timeouts),
    cpuUsPerCall: sum((round) => round.cpuUsPerCall * round.calls) / calls,
    systemUsPerCall: sum((round) => round.systemUsPerCall * round.calls) / calls,
    mainUsPerCall: sum((round) => round.mainUsPerCall * round.calls) / calls,
  };
}

/** Median of calls made one at a time, in ms with µs resolution (autocannon's histogram counts whole ms). */
async function sequentialMedianMs(url: string, session: Record<string, string>, tool: string, count = SEQUENTIAL_CALLS, body = toolCall): Promise<{ medianMs: number; calls: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers: session, body: body(tool) });
    await response.arrayBuffer();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, calls: times.length };
}

/**
 * `run`, and the CPU time `pid` spent per call during it (µs): in all, in the kernel, and on its main thread (whose
 * thread id is the pid); the process's other threads are V8's GC helpers (concurrent marking, parallel scavenges),
 * the libuv pool and workers.
 */
async function withCpuPerCall<T extends { calls: number }>(pid: number, run: () => Promise<T>): Promise<T & CpuPerCall> {
  const [before, mainBefore] = [cpuTimesMs(pid), cpuTimesMs(pid, pid)];
  const done = await run();
  const [after, mainAfter] = [cpuTimesMs(pid), cpuTimesMs(pid, pid)];
  const perCall = (ms: number) => (ms * 1000) / done.calls;
  return {
    ...done,
    cpuUsPerCall: perCall(after.user + after.system - before.user - before.system),
    systemUsPerCall: perCall(after.system - before.system),
    mainUsPerCall: perCall(mainAfter.user + mainAfter.system - mainBefore.user - mainBefore.system),
  };
}

// ---------------------------------------------------------------------------------------------------------------


function printCalls(rows: { name: string; run: LoadRun }[]): void {
  const line = (cells: string[]) => `${cells[0]!.padEnd(28)}${cells.slice(1).map((cell) => cell.padStart(10)).join('')}`;
  process.stdout.write(`\n${line(['', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'non-2xx', 'wrong', 'errors'])}\n`);
  for (const { name, run } of rows) {
    process.stdout.write(`${line([
      name, run.perSecond.toFixed(0), String(run.p50), String(run.p99), run.mean.toFixed(2), String(run.non2xx), String(run.wrongAnswers), String(run.errors),
    ])}\n`);
  }
}

/** One way of reaching the echo tool, and the process whose CPU time is its cost. */
interface Route {
  name: string;
  url: string;
  session: Record<string, string>;
  tool: string;
  pid: number;
  /** Set for the gateway's routes: its backend and credential type. */
  gateway?: Parameters<typeof backendShares>[0][number]['route'];
  /** The body of each call, when it is not a 2025 session's (bench/gateway-eras.ts). */
  body?: EraRoute['body'];
}

/** How `route` words each call. */
const bodyOf = (route: Route) => (route.body ? (tool: string) => route.body!(tool, ECHO_TEXT, nextId++) : toolCall);

interface Measured {
  route: Route;
  sequential: { medianMs: number } & CpuPerCall;
  load: LoadRun;
}

/**
 * The order of round `round` (from 1), as indexes of `routes`: every other round reversed, so that no route always
 * follows the same one; and in rounds 3 and 4 (then 7 and 8, …) the routes of one server process (consecutive, same
 * pid) also taken the other way round. The first window a process serves after the other routes' windows costs it
 * more CPU per call than the next one (bench/README.md, seventh session), and with reversal alone the last process's
 * first route was always that one; this way each route of a process is its first after a pause as often as the other.
 */
function roundOrder(routes: ReadonlyArray<{ pid: number }>, round: number): number[] {
  const groups: number[][] = [];
  routes.forEach((route, index) => {
    const last = groups.at(-1);
    if (last && routes[last[0]!]!.pid === route.pid) last.push(index);
    else groups.push([index]);
  });
  const swapped = Math.floor((round - 1) / 2) % 2 === 1;
  const order = groups.flatMap((group) => (swapped ? [...group].reverse() : group));
  return round % 2 === 1 ? order : order.reverse();
}

/**
 * Warm-up, then the sequential calls, then the timed load in `ROUNDS` rounds that take the routes in turn, so that
 * a machine that speeds up or slows down during the run (other tenants, CPU frequency) weighs on every route alike.
 */
async function measure(routes: Route[]): Promise<Measured[]> {
  process.stdout.write(`- warming up: ${WARMUP_CALLS} calls each way\n`);
  for (const route of routes) await sequentialMedianMs(route.url, route.session, route.tool, WARMUP_CALLS, bodyOf(route));
  process.stdout.write(`- ${SEQUENTIAL_CALLS} sequential calls each way\n`);
  const sequential: Measured['sequential'][] = [];
  for (const route of routes) sequential.push(await withCpuPerCall(route.pid, () => sequentialMedianMs(route.url, route.session, route.tool, SEQUENTIAL_CALLS, bodyOf(route))));
  const rounds = routes.map(() => [] as Array<LoadRound & CpuPerCall>);
  const seconds = Math.max(1, Math.round(DURATION_SECONDS / ROUNDS));
  for (let round = 1; round <= ROUNDS; round += 1) {
    const order = roundOrder(routes, round);
    process.stdout.write(`- ${CONNECTIONS} connections, round ${round} of ${ROUNDS}: ${order.map((index) => routes[index]!.name).join(', ')} for ${seconds} s each\n`);
    for (const index of order) {
      const route = routes[index]!;
      rounds[index]!.push(await withCpuPerCall(route.pid, () => loadTools(route.url, route.session, route.tool, seconds, bodyOf(route))));
    }
  }
  return routes.map((route, index) => ({ route, sequential: sequential[index]!, load: combined(rounds[index]!) }));
}

/** `gateway` is the SQLite gateway with an API key; `others` the other gateway routes (the SQLite one with an OAuth token first). */
function report([direct, proxy, gateway, ...others]: Measured[] & [Measured, Measured, Measured]): void {
  printCalls([direct, proxy, gateway, ...others].map(({ route, load }) => ({ name: route.name, run: load })));
  const rate = (measured: Measured) => measured.load.perSecond;
  const addedMedian = gateway.load.p50 - direct.load.p50;
  const added = (measured: Measured) => (measured.sequential.medianMs - direct.sequential.medianMs).toFixed(3);
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('');
  out(`The bare proxy keeps ${((rate(proxy) / rate(direct)) * 100).toFixed(1)}% of direct, at ${proxy.load.cpuUsPerCall.toFixed(0)} µs of CPU per call, ${proxy.load.systemUsPerCall.toFixed(0)} µs of it in the kernel (the upstream spends ${direct.load.cpuUsPerCall.toFixed(0)} µs)`);
  for (const measured of [gateway, ...others]) {
    const share = rate(measured) / rate(direct);
    const cpuRatio = measured.load.cpuUsPerCall / proxy.load.cpuUsPerCall;
    out(
      `${measured.route.name}: ${(share * 100).toFixed(1)}% of direct (target >= ${TARGET.throughputShare * 100}%): ${verdict(share >= TARGET.throughputShare)}; ` +
        `CPU ${measured.load.cpuUsPerCall.toFixed(0)} µs per call (${measured.load.systemUsPerCall.toFixed(0)} µs in the kernel), ${cpuRatio.toFixed(2)}x the bare proxy's (target <= ${TARGET.cpuVsProxy}x): ${verdict(cpuRatio <= TARGET.cpuVsProxy)}`,
    );
  }
  out(`Added median latency at ${CONNECTIONS} connections: ${addedMedian} ms (target <= ${TARGET.addedMedianMs} ms): ${verdict(addedMedian <= TARGET.addedMedianMs)}; the bare proxy adds ${proxy.load.p50 - direct.load.p50} ms`);
  out(`Added median latency one call at a time: gateway ${added(gateway)} ms, bare proxy ${added(proxy)} ms (medians: direct ${direct.sequential.medianMs.toFixed(3)} ms, proxy ${proxy.sequential.medianMs.toFixed(3)} ms, gateway ${gateway.sequential.medianMs.toFixed(3)} ms)`);
  const threads = ({ route, load }: Measured) => `${route.name} ${load.cpuUsPerCall.toFixed(0)} = ${load.mainUsPerCall.toFixed(0)} + ${(load.cpuUsPerCall - load.mainUsPerCall).toFixed(0)}`;
  out(`CPU µs per call at ${CONNECTIONS} connections = main thread + other threads (GC helpers, workers): ${[direct, proxy, gateway, ...others].map(threads).join('; ')}`);
  const cpu = (measured: Measured) => `${measured.route.name.split(',')[0]} ${measured.sequential.cpuUsPerCall.toFixed(0)}`;
  out(`CPU µs per call one at a time: ${[direct, proxy, gateway].map(cpu).join(', ')}`);
  const gateways = [gateway, ...others].flatMap(({ route, load }) => (route.gateway ? [{ route: route.gateway, perSecond: load.perSecond }] : []));
  for (const line of backendShares(gateways, TARGET.postgresShare)) out(line);
}

async function main(): Promise<void> {
  process.stdout.write(`tools/call directly, through a bare proxy and through the gateway (SQLite${postgresRunsEnabled ? ' and PostgreSQL' : ''}; API key and OAuth token; 2026-07-28 and 2025 clients), ${CONNECTIONS} connections, ${DURATION_SECONDS} s each in ${ROUNDS} rounds; then ${IDLE_SESSIONS} idle sessions\n`);
  const upstream = await startEchoUpstream();
  const proxy = await startBareProxy(upstream);
  const configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-config-'));
  const configFile = path.join(configDir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'bench', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
  const database: BenchDatabase | undefined = postgresRunsEnabled ? await createBenchDatabase() : undefined;
  const gatehouses: BenchServer[] = [];
  let memory = '';
  try {
    const gatehouse = await startGatehouse(['--config', configFile, '--allow-private-networks']);
    gatehouses.push(gatehouse);
    const onPostgres = database ? await startGatehouse(['--config', configFile, '--allow-private-networks', '--database-url', database.url]) : undefined;
    if (onPostgres) gatehouses.push(onPostgres);
    const gatewayUrl = `${gatehouse.url}/mcp`;
    const directSession = await openSession(upstream.url, {});
    const baseline = BASELINE ? await startGatehouse(['--config', configFile, '--allow-private-networks'], { cli: path.join(BASELINE, 'dist/cli.js') }) : undefined;
    if (baseline) gatehouses.push(baseline);
    const oauthOnly = (routes: GatewayRoute[]) => routes.filter((route) => route.credential === 'OAuth token');
    const allRoutes = await gatewayRoutes([{ backend: 'SQLite', gatehouse }, ...(onPostgres ? [{ backend: 'PostgreSQL', gatehouse: onPostgres }] : [])]);
    // Beside a baseline, both builds are measured alike: one OAuth route each, in turn.
    const routes = baseline ? [...oauthOnly(allRoutes), ...oauthOnly(await gatewayRoutes([{ backend: 'baseline SQLite', gatehouse: baseline }]))] : allRoutes;
    // The gateway connects its upstream in the background: its echo tool listed means it is ready.
    await gatewayEchoName(gatewayUrl, routes[0]!.session);
    // First, while the heap holds no garbage of the load runs: RSS then moves with the sessions, not the collector.
    process.stdout.write(`- opening ${IDLE_SESSIONS} idle sessions through the gateway\n`);
    const owners = await idleSessionOwners(gatehouse, IDLE_SESSIONS);
    const before = rssKiB(gatehouse.pid!);
    await openIdleSessions(gatewayUrl, owners, IDLE_SESSIONS);
    await sleep(1000);
    const after = rssKiB(gatehouse.pid!);
    memory = `Gateway RSS: ${(before / 1024).toFixed(1)} MiB before, ${(after / 1024).toFixed(1)} MiB with ${IDLE_SESSIONS} more idle sessions: ${((after - before) / IDLE_SESSIONS).toFixed(1)} KiB per session`;
    const gatewayRoutesToMeasure: Route[] = [];
    for (const route of routes) gatewayRoutesToMeasure.push({ ...route, tool: await gatewayEchoName(route.url, route.session), gateway: route });
    // The MCP eras: a 2026-07-28 client beside a 2025 session, to this upstream and to a 2026-07-28 one.
    const eras = ERA_ROUTES ? await startEraRoutes(gatehouse, gatewayRoutesToMeasure[0]!.tool, configDir, gatewayEchoName) : { routes: [], servers: [] };
    gatehouses.push(...eras.servers);
    const measured = (await measure([
      { name: 'direct (upstream)', url: upstream.url, session: directSession, tool: 'echo', pid: upstream.pid! },
      { name: 'bare node:http proxy', url: proxy.url, session: directSession, tool: 'echo', pid: proxy.pid! },
      ...gatewayRoutesToMeasure,
      ...eras.routes,
    ])) as Measured[] & [Measured, Measured, Measured];
    report(measured);
    if (ERA_ROUTES) for (const line of eraComparison(measured, measured[2])) process.stdout.write(`${line}\n`);
    process.stdout.write(`${memory}\n`);
  } finally {
    await Promise.all([upstream.stop(), proxy.stop(), ...gatehouses.map((server) => server.stop())]);
    await database?.drop();
    rmSync(configDir, { recursive: true, force: true });
  }
}

// Under BENCH_PROFILE the children must exit normally on the bench's SIGTERM, or Node writes no profile.
if (process.env.BENCH_PROFILE && process.argv[2] !== undefined) process.once('SIGTERM', () => process.exit(0));
if (process.argv[2] === 'upstream') await serveEchoUpstream();
else if (process.argv[2] === 'proxy') await serveBareProxy(new URL(process.argv[3]!));
else await main();
