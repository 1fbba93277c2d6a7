import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { MAX_MCP_SESSIONS_PER_USER } from '../src/gateway/mcp-sessions.js';
import { BENCH_ADMIN_PASSWORD, type BenchServer } from './servers.js';

/** A minimal MCP client over plain HTTP, and the admin calls the benchmarks set up with. */

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC response of a POST, whether it came as JSON or as one SSE event. */
export async function rpcResult(response: Response): Promise<{ result?: Record<string, unknown>; error?: unknown }> {
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return JSON.parse(text);
  const data = text.split('\n').find((line) => line.startsWith('data: ') && line.includes('"id"'));
  if (!data) throw new Error(`no JSON-RPC response in the event stream: ${text.slice(0, 300)}`);
  return JSON.parse(data.slice('data: '.length));
}

/** initialize + notifications/initialized; returns the headers every later request of the session carries. */
export async function openSession(url: string, headers: Record<string, string>): Promise<Record<string, string>> {
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

const adminAuth = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`admin:${BENCH_ADMIN_PASSWORD}`).toString('base64')}` };

export async function adminPost(gatehouse: BenchServer, path: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(`${gatehouse.url}${path}`, { method: 'POST', headers: adminAuth, body: JSON.stringify(body) });
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** An API key of `username` (the admin's when absent). */
export async function createApiKey(gatehouse: BenchServer, username?: string): Promise<string> {
  return String((await adminPost(gatehouse, '/api/apikeys', { name: 'bench', ...(username ? { username } : {}) })).key);
}

/**
 * Bearer headers of enough users to hold `count` idle sessions: one user keeps at most MAX_MCP_SESSIONS_PER_USER
 * open (beyond it the least recently used of theirs closes), so the idle sessions are spread over several users.
 */
export async function idleSessionOwners(gatehouse: BenchServer, count: number, prefix = 'bench-idle'): Promise<Array<Record<string, string>>> {
  const owners: Array<Record<string, string>> = [];
  for (let index = 0; index * MAX_MCP_SESSIONS_PER_USER < count; index += 1) {
    const username = `${prefix}-${index}`;
    await adminPost(gatehouse, '/api/users', { username, password: `Bench-idle-${index}-${Date.now()}-pw`, is_admin: false });
    owners.push({ authorization: `Bearer ${await createApiKey(gatehouse, username)}` });
  }
  return owners;
}

/**
 * Opens `count` sessions through the gateway, 16 at a time, each owner its share, and leaves them open and idle;
 * returns the headers of each (to use them again).
 */
export async function openIdleSessions(url: string, owners: Array<Record<string, string>>, count: number): Promise<Array<Record<string, string>>> {
  const sessions: Array<Record<string, string>> = [];
  let opened = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (opened < count) {
      const owner = owners[Math.floor(opened / MAX_MCP_SESSIONS_PER_USER)]!;
      opened += 1;
      sessions.push(await openSession(url, owner));
    }
  }));
  return sessions;
}
