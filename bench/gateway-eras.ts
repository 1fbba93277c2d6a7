import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startStatelessUpstream } from '../test/fixtures/upstreams/stateless-server.js';
import { createApiKey, MCP_HEADERS, openSession } from './mcp-http.js';
import { startGatehouse, stopChild, type BenchServer } from './servers.js';

/**
 * The MCP eras in `npm run bench:gateway` (bench/gateway.ts measures these routes in its own rounds, beside its own):
 * the same echo `tools/call` sent by a 2026-07-28 client (stateless: no session, the per-request `_meta` and the
 * routing headers) and by a 2025 client (on its MCP session), to the bench's 2025 upstream and to a 2026-07-28
 * upstream (test/fixtures/upstreams/stateless-server.ts in its own process, which Gatehouse reaches statelessly).
 */

const STATELESS_VERSION = '2026-07-28';

/** A route as bench/gateway.ts measures it, with the body of each call when it is not a 2025 session's. */
export interface EraRoute {
  name: string;
  url: string;
  session: Record<string, string>;
  tool: string;
  pid: number;
  body?: (tool: string, text: string, id: number) => string;
}

/** A 2026-07-28 `tools/call`: the protocol version, client info and capabilities in its own `_meta`. */
const statelessCall = (tool: string, text: string, id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: tool,
      arguments: { text },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION,
        'io.modelcontextprotocol/clientInfo': { name: 'gatehouse-bench', version: '1.0.0' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  });

/** The headers of every 2026-07-28 call of `tool`: no session, the routing headers instead. */
const statelessHeaders = (bearer: Record<string, string>, tool: string) => ({
  ...MCP_HEADERS,
  ...bearer,
  'mcp-protocol-version': STATELESS_VERSION,
  'mcp-method': 'tools/call',
  'mcp-name': tool,
});

/** The 2026-07-28 upstream in its own process (`bench/gateway-eras.ts upstream`), so it does not share the load generator's core. */
async function startModernUpstream(): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'upstream'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: chunk.toString().trim(), pid: child.pid, stop: () => stopChild(child) };
}

/**
 * Starts the 2026-07-28 upstream and a Gatehouse in front of it, and returns the era routes: a 2026-07-28 client to
 * `legacy` (the bench's gateway on the 2025 upstream, whose echo is `legacyTool`), and a 2025 and a 2026-07-28 client
 * to the 2026-07-28 upstream. `ready` waits until a gateway lists the tool and returns its name there.
 */
export async function startEraRoutes(
  legacy: BenchServer,
  legacyTool: string,
  configDir: string,
  ready: (url: string, session: Record<string, string>) => Promise<string>,
): Promise<{ routes: EraRoute[]; servers: BenchServer[] }> {
  const upstream = await startModernUpstream();
  const configFile = path.join(configDir, 'gatehouse-eras.json');
  writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'modern', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
  const gatehouse = await startGatehouse(['--config', configFile, '--allow-private-networks']);
  const url = `${gatehouse.url}/mcp`;
  const bearer = { authorization: `Bearer ${await createApiKey(gatehouse)}` };
  const session = await openSession(url, bearer);
  const tool = await ready(url, session);
  const legacyBearer = { authorization: `Bearer ${await createApiKey(legacy)}` };
  return {
    servers: [upstream, gatehouse],
    routes: [
      { name: '2026 client, 2025 upstream', url: `${legacy.url}/mcp`, session: statelessHeaders(legacyBearer, legacyTool), tool: legacyTool, pid: legacy.pid!, body: statelessCall },
      { name: '2025 client, 2026 upstream', url, session, tool, pid: gatehouse.pid! },
      { name: '2026 client, 2026 upstream', url, session: statelessHeaders(bearer, tool), tool, pid: gatehouse.pid!, body: statelessCall },
    ],
  };
}

/** One measured route as bench/gateway.ts reports it. */
interface EraMeasured {
  route: { name: string };
  sequential: { medianMs: number };
  load: { perSecond: number; p50: number; p99: number; cpuUsPerCall: number };
}

/** Each upstream era: the 2026-07-28 client's call beside the 2025 session's, rate and latency. */
export function eraComparison(measured: EraMeasured[], legacySession: EraMeasured): string[] {
  const find = (name: string) => measured.find((item) => item.route.name === name)!;
  const row = (item: EraMeasured) =>
    `${item.load.perSecond.toFixed(0)} req/s (p50 ${item.load.p50} ms, p99 ${item.load.p99} ms; ${item.sequential.medianMs.toFixed(3)} ms one at a time; ${item.load.cpuUsPerCall.toFixed(0)} µs gateway CPU per call)`;
  const pair = (upstream: string, session: EraMeasured, stateless: EraMeasured) =>
    `To the ${upstream} upstream: 2026-07-28 stateless ${row(stateless)} vs 2025 session ${row(session)}: stateless at ${((stateless.load.perSecond / session.load.perSecond) * 100).toFixed(1)}% of the session's rate`;
  return [
    pair('2025', legacySession, find('2026 client, 2025 upstream')),
    pair('2026-07-28', find('2025 client, 2026 upstream'), find('2026 client, 2026 upstream')),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'upstream') {
  const upstream = await startStatelessUpstream({ record: false });
  process.stdout.write(`${upstream.url}\n`);
}
