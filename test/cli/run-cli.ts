import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** The parent's GATEHOUSE_* variables would leak into the child and make tests depend on the shell. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_')));
  return { ...clean, ...env };
}

function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gatehouse <args>` to completion; `input` is written to stdin (which is then closed, so never a TTY). */
export async function runCli(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawnCli(args, options.env ?? {});
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(options.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

export interface ServingChild {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` as the server logged it. */
  address: string;
  /** Everything printed on stdout so far (JSON log lines and the admin notice). */
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines so far. */
  logLines(): Record<string, unknown>[];
  /** Resolves with the first log line that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Starts `gatehouse serve <args>` and resolves once it logs its listening address. */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServingChild> {
  const child = spawnCli(['serve', '--port', '0', ...args], env);
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  const waiters: { match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  // Only whole lines: the last piece may be a line still being written.
  const logLines = () =>
    stdout
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = logLines();
    for (const waiter of [...waiters]) {
      const found = lines.find(waiter.match);
      if (found) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(found);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitForLog = (match: (line: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = logLines().find(match);
      if (found) return resolve(found);
      waiters.push({ match, resolve });
      void exited.then((code) => reject(new Error(`serve exited with ${code} before the expected log line; stderr: ${stderr}`)));
    });
  const listening = await waitForLog((line) => typeof line.address === 'string' && typeof line.publicUrl === 'string');
  return { child, address: listening.address as string, stdout: () => stdout, stderr: () => stderr, logLines, waitForLog, exited };
}

/** Sends SIGTERM and waits for the exit code. */
export async function stopServe(serving: ServingChild): Promise<number | null> {
  serving.child.kill('SIGTERM');
  return serving.exited;
}
