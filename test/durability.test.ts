import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { basicAuth } from './helpers/app.js';
import { backends, freshPostgresSchema, tempDir, type Backend } from './helpers/backends.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const ADMIN_PASSWORD = 'durability-Admin-pw-1';
const AUTH = basicAuth('admin', ADMIN_PASSWORD);

/**
 * Bounds of the write stream. The kill comes after KILL_AFTER acknowledgements, or on a slow or busy machine (each
 * write hashes a password with scrypt) once KILL_BY_MS passed with at least MIN_ACKNOWLEDGED, so it always lands
 * mid-stream; MAX_STREAM_MS only bounds a server that stopped answering.
 */
const CONCURRENCY = 4;
const MAX_REQUESTS = 300;
const MAX_STREAM_MS = 60_000;
const KILL_AFTER = 50;
const KILL_BY_MS = 5_000;
const MIN_ACKNOWLEDGED = 10;
const START_TIMEOUT_MS = 30_000;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Served {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** Starts `gatehouse serve` in a child process and resolves once /health answers 200. */
async function serve(dataDir: string, databaseUrl?: string): Promise<Served> {
  const port = await freePort();
  const args = ['--import', 'tsx', CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--no-demo'];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD, GATEHOUSE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const healthy = await fetch(`${url}/health`).then((res) => res.ok, () => false);
    if (healthy) return { child, url, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gatehouse serve did not become healthy:\n${output}`);
}

/**
 * Creates users from CONCURRENCY workers and SIGKILLs the server once KILL_AFTER were answered 2xx.
 * Returns every username the server acknowledged; a request cut off by the kill is not acknowledged.
 */
async function writeUntilKilled(served: Served, apiKey: string): Promise<string[]> {
  const acknowledged: string[] = [];
  const started = Date.now();
  let next = 0;
  let killed = false;
  const exited = once(served.child, 'exit');
  const worker = async () => {
    while (!killed && next < MAX_REQUESTS && Date.now() - started < MAX_STREAM_MS) {
      const username = `durable-${next++}`;
      try {
        const res = await fetch(`${served.url}/api/users`, {
          method: 'POST',
          headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: `pw-${username}-Long-enough` }),
        });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) acknowledged.push(username);
        else if (!killed) throw new Error(`POST /api/users answered ${res.status}`);
      } catch (error) {
        if (!killed) throw error;
      }
      if (!killed && (acknowledged.length >= KILL_AFTER || (Date.now() - started >= KILL_BY_MS && acknowledged.length >= MIN_ACKNOWLEDGED))) {
        killed = true;
        served.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (!killed) served.child.kill('SIGKILL');
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL', 'the server died by SIGKILL, not a clean exit');
  return acknowledged;
}

/** An API key for the write stream: Basic auth would cost a second scrypt per write. */
async function createApiKey(url: string): Promise<string> {
  const res = await fetch(`${url}/api/apikeys`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'durability writer' }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { key: string }).key;
}

async function listUsernames(url: string): Promise<Set<string>> {
  const res = await fetch(`${url}/api/users`, { headers: { authorization: AUTH } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { users: { username: string }[] };
  return new Set(body.users.map((user) => user.username));
}

async function stop(served: Served): Promise<void> {
  if (served.child.exitCode !== null || served.child.signalCode !== null) return;
  const exited = once(served.child, 'exit');
  served.child.kill('SIGTERM');
  await exited;
}

async function placeFor(backend: Backend): Promise<{ dataDir: string; databaseUrl?: string; cleanup(): Promise<void> }> {
  const temp = tempDir('gatehouse-durability-');
  if (backend === 'sqlite') return { dataDir: temp.dir, cleanup: async () => temp.remove() };
  const schema = await freshPostgresSchema();
  return {
    dataDir: temp.dir,
    databaseUrl: schema.url,
    async cleanup() {
      await schema.drop();
      temp.remove();
    },
  };
}

for (const backend of backends) {
  describe(`durability on ${backend}`, () => {
    it('every user answered 2xx before a SIGKILL is present after restart', async (t) => {
      const place = await placeFor(backend);
      let restarted: Served | undefined;
      try {
        const first = await serve(place.dataDir, place.databaseUrl);
        const acknowledged = await writeUntilKilled(first, await createApiKey(first.url));
        assert.ok(acknowledged.length >= MIN_ACKNOWLEDGED, `only ${acknowledged.length} writes were acknowledged:\n${first.output()}`);

        t.diagnostic(`${acknowledged.length} writes acknowledged before the kill`);
        restarted = await serve(place.dataDir, place.databaseUrl);
        const present = await listUsernames(restarted.url);
        const lost = acknowledged.filter((username) => !present.has(username));
        assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged users were lost`);
      } finally {
        if (restarted) await stop(restarted);
        await place.cleanup();
      }
    });
  });
}
