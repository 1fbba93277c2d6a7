import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/helpers/app.js';

/** A server in its own process, so that the load generator (this process) and the server each get a core. */
export interface BenchServer {
  url: string;
  /** The server's process id (to read its memory from /proc). */
  pid?: number;
  /** Gatehouse's data directory (its SQLite files). */
  dataDir?: string;
  stop(): Promise<void>;
}

export const BENCH_ADMIN_PASSWORD = 'bench-Admin-pw-1';

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** The flags `npm start` gives node before `dist/cli.js` (package.json), so that the bench runs the server as users do. */
const START_NODE_FLAGS = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'));

/**
 * `gatehouse serve` as `npm start` runs it (its node flags, and the build in dist/, which the npm scripts make first) on
 * SQLite in a temp dir, logging warnings only (request logs would measure the pipe). `launch.cli` runs another build instead (a
 * baseline measured in the same run).
 */
export async function startGatehouse(extraArgs: string[] = [], launch: { nodeArgs?: string[]; env?: Record<string, string>; cli?: string } = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []), ...START_NODE_FLAGS, ...(launch.nodeArgs ?? []), launch.cli ?? 'dist/cli.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--public-url', url, '--data-dir', dataDir, '--log-level', 'warn', '--no-demo', ...extraArgs];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...launch.env, GATEHOUSE_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = async () => {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (child.exitCode !== null) break;
    const healthy = await fetch(`${url}/health`).then((response) => response.ok, () => false);
    if (healthy) return { url, pid: child.pid, dataDir, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`gatehouse serve did not answer ${url}/health`);
}

/** A bench script in its own process (through tsx; profiled too under `BENCH_PROFILE`), which prints its port when it listens; `urlPath` is appended to its URL. */
export async function startChild(script: string, args: string[], urlPath = ''): Promise<BenchServer> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}${urlPath}`, pid: child.pid, stop: () => stopChild(child) };
}

/** The bare node:http ceiling (bench/bare-server.ts). */
export const startBareServer = (): Promise<BenchServer> => startChild(path.join(import.meta.dirname, 'bare-server.ts'), []);
