import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, LATEST_PROTOCOL_VERSION, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BENCH_ADMIN_PASSWORD, startGatehouse, stopChild, type BenchServer } from './servers.js';

/**
 * `tools/call` through the gateway against the same call made directly to the upstream, in one run at 32
 * connections; then the gateway's memory per idle MCP session. Prints numbers; asserts nothing (see README.md).
 */
const CONNECTIONS = 32;
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const IDLE_SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
/** Calls made one at a time to measure the latency the gateway adds when nothing queues. */
const SEQUENTIAL_CALLS = Number(process.env.BENCH_SEQUENTIAL ?? 1000);
const TARGET = { throughputShare: 0.7, addedMedianMs: 1 };
const ECHO_TEXT = 'hello through the gateway';

// ---------------------------------------------------------------------------------------------------------------
// The upstream: a real SDK server, stateless Streamable HTTP with JSON responses, run in its own process
// (`bench/gateway.ts upstream`) so that it does not share a core with the load generator.

function echoServer(): Server {
  const server = new Server({ name: 'bench-echo', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{
      name: 'echo',
      description: 'Returns its text',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      annotations: { readOnlyHint: true },
    }],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: 'text', text: String(request.params.arguments?.text ?? '') }],
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

async function startEchoUpstream(): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'upstream'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}/mcp`, pid: child.pid, stop: () => stopChild(child) };
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal MCP client over plain HTTP: what autocannon sends must be the same bytes a real client sends.

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC response of a POST, whether it came as JSON or as one SSE event. */
async function rpcResult(response: Response): Promise<{ result?: Record<string, unknown>; error?: unknown }> {
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return JSON.parse(text);
  const data = text.split('\n').find((line) => line.startsWith('data: ') && line.includes('"id"'));
  if (!data) throw new Error(`no JSON-RPC response in the event stream: ${text.slice(0, 300)}`);
  return JSON.parse(data.slice('data: '.length));
}

/** initialize + notifications/initialized; returns the headers every later request of the session carries. */
async function openSession(url: string, headers: Record<string, string>): Promise<Record<string, string>> {
  const initialize = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 0, method: 'initialize',
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'gatehouse-bench', version: '1.0.0' } },
    }),
  });
  const sessionId = initialize.headers.get('mcp-session-id');
  const { result, error } = await rpcResult(initialize);
  if (!result) throw new Error(`initialize failed: ${JSON.stringify(error)}`);
  const session = {
    ...MCP_HEADERS, ...headers,
    'mcp-protocol-version': String(result.protocolVersion),
    ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
  };
  const initialized = await fetch(url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await initialized.arrayBuffer();
  if (initialized.status !== 202) throw new Error(`notifications/initialized answered ${initialized.status}`);
  return session;
}

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

async function createApiKey(gatehouse: BenchServer): Promise<string> {
  const response = await fetch(`${gatehouse.url}/api/apikeys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`admin:${BENCH_ADMIN_PASSWORD}`).toString('base64')}` },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (response.status !== 201) throw new Error(`POST /api/apikeys answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements.

interface CallRun {
  result: Result;
  /** 2xx answers that are not the echoed text (a tool error, a JSON-RPC error). */
  wrongAnswers: number;
}

async function loadTools(url: string, session: Record<string, string>, tool: string): Promise<CallRun> {
  let wrongAnswers = 0;
  const target = new URL(url);
  const result = await autocannon({
    url: target.origin,
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    requests: [{
      method: 'POST',
      path: target.pathname,
      headers: session,
      // Every request gets its own JSON-RPC id: a session routes answers by id.
      setupRequest: (request) => ({ ...request, body: toolCall(tool) }),
      onResponse: (status, body) => {
        if (status < 300 && (!body.includes(ECHO_TEXT) || body.includes('"isError":true') || body.includes('"error"'))) wrongAnswers += 1;
      },
    }],
  });
  return { result, wrongAnswers };
}

/** Median of calls made one at a time, in ms with µs resolution (autocannon's histogram counts whole ms). */
async function sequentialMedianMs(url: string, session: Record<string, string>, tool: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL_CALLS; i += 1) {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers: session, body: toolCall(tool) });
    await response.arrayBuffer();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN);
}

/** Opens `count` sessions through the gateway, 16 at a time, and leaves them open and idle. */
async function openIdleSessions(url: string, headers: Record<string, string>, count: number): Promise<void> {
  let opened = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (opened < count) {
      opened += 1;
      await openSession(url, headers);
    }
  }));
}

// ---------------------------------------------------------------------------------------------------------------

const perSecond = (result: Result) => result.requests.total / result.duration;

function printCalls(rows: { name: string; run: CallRun }[]): void {
  const line = (cells: string[]) => `${cells[0]!.padEnd(28)}${cells.slice(1).map((cell) => cell.padStart(10)).join('')}`;
  process.stdout.write(`\n${line(['', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'non-2xx', 'wrong', 'errors'])}\n`);
  for (const { name, run: { result, wrongAnswers } } of rows) {
    process.stdout.write(`${line([
      name, perSecond(result).toFixed(0), String(result.latency.p50), String(result.latency.p99), result.latency.average.toFixed(2),
      String(result.non2xx), String(wrongAnswers), String(result.errors + result.timeouts),
    ])}\n`);
  }
}

async function main(): Promise<void> {
  process.stdout.write(`tools/call through the gateway vs directly, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each; then ${IDLE_SESSIONS} idle sessions\n`);
  const upstream = await startEchoUpstream();
  const configDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-config-'));
  const configFile = path.join(configDir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'bench', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
  let gatehouse: BenchServer | undefined;
  try {
    gatehouse = await startGatehouse(['--config', configFile, '--allow-private-networks']);
    const gatewayUrl = `${gatehouse.url}/mcp`;
    const bearer = { authorization: `Bearer ${await createApiKey(gatehouse)}` };
    const directSession = await openSession(upstream.url, {});
    const gatewaySession = await openSession(gatewayUrl, bearer);
    const gatewayTool = await gatewayEchoName(gatewayUrl, gatewaySession);

    process.stdout.write(`- ${SEQUENTIAL_CALLS} sequential calls each way\n`);
    const directSequential = await sequentialMedianMs(upstream.url, directSession, 'echo');
    const gatewaySequential = await sequentialMedianMs(gatewayUrl, gatewaySession, gatewayTool);
    process.stdout.write('- direct to the upstream\n');
    const direct = await loadTools(upstream.url, directSession, 'echo');
    process.stdout.write(`- through the gateway (${gatewayTool})\n`);
    const gateway = await loadTools(gatewayUrl, gatewaySession, gatewayTool);

    printCalls([{ name: 'direct (upstream)', run: direct }, { name: 'through the gateway', run: gateway }]);
    const share = perSecond(gateway.result) / perSecond(direct.result);
    const addedMedian = gateway.result.latency.p50 - direct.result.latency.p50;
    process.stdout.write(`\nThroughput through the gateway: ${(share * 100).toFixed(1)}% of direct (target >= ${TARGET.throughputShare * 100}%): ${share >= TARGET.throughputShare ? 'met' : 'NOT met'}\n`);
    process.stdout.write(`Added median latency at ${CONNECTIONS} connections: ${addedMedian} ms (target <= ${TARGET.addedMedianMs} ms): ${addedMedian <= TARGET.addedMedianMs ? 'met' : 'NOT met'}\n`);
    process.stdout.write(`Added median latency one call at a time: ${(gatewaySequential - directSequential).toFixed(3)} ms (direct ${directSequential.toFixed(3)} ms, gateway ${gatewaySequential.toFixed(3)} ms)\n`);

    process.stdout.write(`- opening ${IDLE_SESSIONS} idle sessions through the gateway\n`);
    const before = rssKiB(gatehouse.pid!);
    await openIdleSessions(gatewayUrl, bearer, IDLE_SESSIONS);
    await sleep(1000);
    const after = rssKiB(gatehouse.pid!);
    process.stdout.write(`Gateway RSS: ${(before / 1024).toFixed(1)} MiB before, ${(after / 1024).toFixed(1)} MiB with ${IDLE_SESSIONS} more idle sessions: ${((after - before) / IDLE_SESSIONS).toFixed(1)} KiB per session\n`);
  } finally {
    await Promise.all([upstream.stop(), gatehouse?.stop()]);
    rmSync(configDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'upstream') await serveEchoUpstream();
else await main();
