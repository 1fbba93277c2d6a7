import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { sqliteFile } from '../src/store/sqlite.js';
import type { ServingChild } from './cli/run-cli.js';
import { startHttpUpstream, type HttpUpstream } from './fixtures/upstreams/http-server.js';
import { basicAuth } from './helpers/app.js';
import { backends, freshPostgresSchema, tempDir } from './helpers/backends.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from './helpers/gatehouse-child.js';
import { connectWithToken } from './helpers/mcp-session.js';

/**
 * `gatehouse serve` as a supervisor stops it: SIGTERM, with the deadline short so the suite stays quick. Bounds on
 * how long exiting takes are functional (a hang never ends), generous enough for a loaded machine.
 */
const DEADLINE_SECONDS = 2;
const EXIT_SLACK_MS = 15_000;
const ADMIN = basicAuth('admin', CHILD_ADMIN_PASSWORD);

/** Resolves with the exit code; fails the test (and kills the child) when it has not exited within `withinMs`. */
async function exitCode(serving: ServingChild, withinMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), withinMs)));
  const outcome = await Promise.race([serving.exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    serving.child.kill('SIGKILL');
    assert.fail(`the process was still running ${withinMs} ms after SIGTERM`);
  }
  return outcome;
}

/** Ends a child that a failed test left running (SIGKILL: its own shutdown is what is under test) and removes its data. */
async function removeChild(gatehouse: GatehouseChild): Promise<void> {
  gatehouse.serving.child.kill('SIGKILL');
  await gatehouse.stop();
}

/** Everything the child wrote on stderr, once it is gone (its stderr may have been left unread until now). */
async function stderrAfterExit(serving: ServingChild): Promise<string> {
  serving.child.stderr!.resume();
  if (serving.child.stderr!.readable) await once(serving.child.stderr!, 'close');
  return serving.stderr();
}

/** From now on nothing reads the child's stdout and stderr: the pipes fill, as behind a stuck log shipper. */
function stopReading(serving: ServingChild): void {
  serving.child.stdout!.pause();
  serving.child.stderr!.pause();
}

/** What each request of a burst adds to the log at least: its URL, on its "incoming request" line. */
const URL_CHARS = 12_000;

/** Requests with a long URL, which the request's log line carries: a few hundred fill any pipe. */
async function logHeavyBurst(url: string, requests: number, concurrency = 8): Promise<void> {
  const target = `${url}/health?pad=${'x'.repeat(URL_CHARS)}`;
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next += 1;
      const response = await fetch(target);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(found, `${name} in /metrics`);
  return Number(found[1]);
}

async function createApiKey(url: string): Promise<string> {
  const response = await fetch(`${url}/api/apikeys`, {
    method: 'POST',
    headers: { authorization: ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'shutdown tests' }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { key: string }).key;
}

/** A gatehouse whose only upstream is `connectionString` (the demo off), with a short shutdown deadline unless told. */
async function gatehouseWithUpstream(dir: string, connectionString: string, deadlineSeconds = DEADLINE_SECONDS): Promise<GatehouseChild> {
  const configFile = path.join(dir, `gatehouse-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'web', connection_type: 'http', connection_string: connectionString, auth_type: 'none' }] }));
  return startGatehouseChild(['--config', configFile, '--no-demo', '--shutdown-timeout-seconds', String(deadlineSeconds)]);
}

/**
 * An /mcp request that stays in flight: its headers arrive, its body never finishes. (A tools/call waiting on a slow
 * upstream does not: shutdown ends every MCP session first, which cancels the calls in flight and answers them.)
 * Resolves once the server has seen the request; `abort` drops the connection.
 */
async function requestInFlight(gatehouse: GatehouseChild, apiKey: string): Promise<{ abort(): void }> {
  const { port } = new URL(gatehouse.url);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  socket.write(
    `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${apiKey}\r\ncontent-type: application/json\r\n` +
      'accept: application/json, text/event-stream\r\ncontent-length: 1000\r\n\r\n{"jsonrpc":"2.0",',
  );
  await gatehouse.serving.waitForLog((line) => line.msg === 'incoming request' && (line.req as { url?: string } | undefined)?.url === '/mcp');
  return { abort: () => socket.destroy() };
}

/** A session's standalone GET stream, opened by hand so the test sees it end. */
async function openGetStream(url: string, apiKey: string): Promise<{ ended: Promise<void> }> {
  const headers = { authorization: `Bearer ${apiKey}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
  const initialize = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'shutdown test', version: '1' } } }),
  });
  assert.equal(initialize.status, 200, await initialize.clone().text());
  await initialize.arrayBuffer();
  const session = { ...headers, 'mcp-session-id': initialize.headers.get('mcp-session-id')!, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
  const initialized = await fetch(`${url}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  assert.equal(initialized.status, 202);
  const get = await fetch(`${url}/mcp`, { headers: { ...session, accept: 'text/event-stream' } });
  assert.equal(get.status, 200);
  assert.match(get.headers.get('content-type') ?? '', /text\/event-stream/);
  return { ended: get.arrayBuffer().then(() => undefined, () => undefined) };
}

/** A TCP server that accepts connections and never answers a byte. */
async function startSilentServer(): Promise<{ url: string; connections: Set<Socket>; close(): Promise<void> }> {
  const connections = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections,
    async close() {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The echo tool's audit rows, read from outside the process that writes them. */
function sqliteEchoRows(dataDir: string): number {
  const database = new BetterSqlite3(sqliteFile(dataDir), { readonly: true });
  try {
    return (database.prepare(ECHO_ROWS_SQL).get() as { n: number }).n;
  } finally {
    database.close();
  }
}

async function postgresEchoRows(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(ECHO_ROWS_SQL)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

const ECHO_ROWS_SQL = "SELECT count(*) AS n FROM tool_calls WHERE tool = 'echo'";

describe('gatehouse serve stops within its shutdown deadline', { timeout: 300_000 }, () => {
  const temp = tempDir('gatehouse-shutdown-');
  let upstream: HttpUpstream;
  before(async () => {
    upstream = await startHttpUpstream({ name: 'fixture-http' });
  });
  after(async () => {
    await upstream?.close();
    temp.remove();
  });

  it('with its stdout and stderr never read and stdout full, SIGTERM still ends it at the deadline: exit 1, said on stderr', async () => {
    const gatehouse = await startGatehouseChild(['--shutdown-timeout-seconds', String(DEADLINE_SECONDS)]);
    try {
      stopReading(gatehouse.serving);
      await logHeavyBurst(gatehouse.url, 200);
      assert.ok((await metric(gatehouse.url, 'gatehouse_log_buffered_chars')) > 0, 'stdout is blocked: output waits for the reader');
      gatehouse.serving.child.kill('SIGTERM');
      assert.equal(await exitCode(gatehouse.serving, DEADLINE_SECONDS * 1000 + EXIT_SLACK_MS), 1);
      assert.match(await stderrAfterExit(gatehouse.serving), /^gatehouse: shutdown did not finish within 2 s \(at: flush logs\); exiting with code 1$/m);
    } finally {
      await removeChild(gatehouse);
    }
  });

  it('while stdout is blocked, a burst of requests leaves memory bounded: lines are dropped and counted, and one warning follows when it drains', async () => {
    const gatehouse = await startGatehouseChild(['--shutdown-timeout-seconds', String(DEADLINE_SECONDS)]);
    try {
      stopReading(gatehouse.serving);
      await logHeavyBurst(gatehouse.url, 300);
      const memory = async () => (await metric(gatehouse.url, 'nodejs_heap_size_used_bytes')) + (await metric(gatehouse.url, 'nodejs_external_memory_bytes'));
      const before = { memory: await memory(), rss: await metric(gatehouse.url, 'process_resident_memory_bytes') };
      const requests = 3000;
      await logHeavyBurst(gatehouse.url, requests);
      const dropped = await metric(gatehouse.url, 'gatehouse_log_lines_dropped_total');
      // What an unbounded buffer would hold: 36 MB.
      const produced = requests * URL_CHARS;
      assert.ok(dropped >= requests / 2, `lines were dropped (${dropped}), not kept`);
      assert.ok((await metric(gatehouse.url, 'gatehouse_log_buffered_chars')) <= 1024 * 1024, 'what waits for stdout stays within its bound');
      assert.ok((await memory()) - before.memory < produced / 2, 'the heap and external memory did not take the log lines in');
      assert.ok((await metric(gatehouse.url, 'process_resident_memory_bytes')) - before.rss < produced / 2, 'nor did the process as a whole');

      gatehouse.serving.child.stdout!.resume();
      const warning = await gatehouse.serving.waitForLog((line) => line.msg === `log output was blocked: ${String(line.droppedLines)} lines were dropped`);
      assert.equal(warning.level, 40);
      assert.ok((warning.droppedLines as number) > 0);
      gatehouse.serving.child.stderr!.resume();
      gatehouse.serving.child.kill('SIGTERM');
      assert.equal(await exitCode(gatehouse.serving, DEADLINE_SECONDS * 1000 + EXIT_SLACK_MS), 0, 'drained again, the log flushes and it exits cleanly');
    } finally {
      await removeChild(gatehouse);
    }
  });

  it('a request that never finishes is abandoned at the deadline: exit 1, naming the step on stderr', async () => {
    const gatehouse = await gatehouseWithUpstream(temp.dir, upstream.url);
    const inFlight = await requestInFlight(gatehouse, await createApiKey(gatehouse.url));
    try {
      gatehouse.serving.child.kill('SIGTERM');
      assert.equal(await exitCode(gatehouse.serving, DEADLINE_SECONDS * 1000 + EXIT_SLACK_MS), 1);
      assert.match(await stderrAfterExit(gatehouse.serving), /^gatehouse: shutdown did not finish within 2 s \(at: stop accepting and finish requests in flight\); exiting with code 1$/m);
    } finally {
      inFlight.abort();
      await removeChild(gatehouse);
    }
  });

  it('an open MCP GET stream does not hold the server open: it is ended, and SIGTERM exits 0 before the deadline', async () => {
    const gatehouse = await startGatehouseChild(['--shutdown-timeout-seconds', '60']);
    try {
      const stream = await openGetStream(gatehouse.url, await createApiKey(gatehouse.url));
      gatehouse.serving.child.kill('SIGTERM');
      assert.equal(await exitCode(gatehouse.serving, EXIT_SLACK_MS), 0, 'a clean exit: the stream ended before the deadline');
      await stream.ended;
    } finally {
      await removeChild(gatehouse);
    }
  });

  it('an upstream that accepts connections and never answers does not hold the shutdown: exit 0 before the deadline', async () => {
    const silent = await startSilentServer();
    try {
      const gatehouse = await gatehouseWithUpstream(temp.dir, `${silent.url}/mcp`, 60);
      try {
        assert.ok(silent.connections.size > 0, 'gatehouse is connecting to it');
        gatehouse.serving.child.kill('SIGTERM');
        assert.equal(await exitCode(gatehouse.serving, EXIT_SLACK_MS), 0);
      } finally {
        await removeChild(gatehouse);
      }
    } finally {
      await silent.close();
    }
  });

  for (const backend of backends) {
    it(`tool-call audit records still queued in their batch are written on SIGTERM before the database closes, on ${backend}`, async () => {
      const dataDir = path.join(temp.dir, `audit-${Math.random().toString(36).slice(2)}`);
      const configFile = path.join(temp.dir, `gatehouse-audit-${Math.random().toString(36).slice(2)}.json`);
      // A minute's window: nothing but the shutdown writes the batch within this test.
      writeFileSync(configFile, JSON.stringify({ audit: { batchWindowMs: 60_000 }, upstreams: [{ name: 'web', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
      const schema = backend === 'postgres' ? await freshPostgresSchema() : undefined;
      const gatehouse = await startGatehouseChild(
        ['--config', configFile, '--no-demo', '--data-dir', dataDir, '--shutdown-timeout-seconds', '60'],
        schema ? { GATEHOUSE_DATABASE_URL: schema.url } : {},
      );
      const { client } = await connectWithToken(`${gatehouse.url}/mcp`, await createApiKey(gatehouse.url));
      const toolCallRows = () => (schema ? postgresEchoRows(schema.url) : sqliteEchoRows(dataDir));
      try {
        for (let call = 0; call < 5; call++) await client.callTool({ name: 'web_echo', arguments: { text: `call ${call}` } });
        assert.equal(await toolCallRows(), 0, 'the records wait in their batch, unwritten');
        await client.close();
        gatehouse.serving.child.kill('SIGTERM');
        assert.equal(await exitCode(gatehouse.serving, EXIT_SLACK_MS), 0);
        assert.equal(await toolCallRows(), 5, 'every queued record was written before exit');
      } finally {
        await client.close().catch(() => undefined);
        await removeChild(gatehouse);
        await schema?.drop();
      }
    });
  }

  it('a second SIGTERM while a request is still in flight exits 1 at once, long before the deadline', async () => {
    const gatehouse = await gatehouseWithUpstream(temp.dir, upstream.url, 600);
    const inFlight = await requestInFlight(gatehouse, await createApiKey(gatehouse.url));
    try {
      gatehouse.serving.child.kill('SIGTERM');
      await gatehouse.serving.waitForLog((line) => line.signal === 'SIGTERM');
      gatehouse.serving.child.kill('SIGTERM');
      assert.equal(await exitCode(gatehouse.serving, EXIT_SLACK_MS), 1);
      assert.match(await stderrAfterExit(gatehouse.serving), /^gatehouse: second signal \(SIGTERM\) while shutting down \(at: stop accepting and finish requests in flight\); exiting with code 1$/m);
    } finally {
      inFlight.abort();
      await removeChild(gatehouse);
    }
  });
});
