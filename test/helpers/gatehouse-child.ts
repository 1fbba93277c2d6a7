import { startServe, stopServe, type ServingChild } from '../cli/run-cli.js';
import { freePort } from './app.js';
import { tempDir } from './backends.js';

export const CHILD_ADMIN_PASSWORD = 'e2e-Admin-pw-1';

export interface GatehouseChild {
  /** The issuer: `http://127.0.0.1:<port>`, identical to the address it listens on. */
  url: string;
  serving: ServingChild;
  /** Stops the server (SIGTERM, waits for exit) and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * A real `gatehouse serve` child process on SQLite in a temp dir, with user `admin` / CHILD_ADMIN_PASSWORD.
 * The port is chosen before start so the public URL (the issuer) is the address clients actually reach.
 * Later `extraArgs` win (e.g. a shared `--public-url` for replicas); `env` adds GATEHOUSE_* variables.
 */
export async function startGatehouseChild(extraArgs: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<GatehouseChild> {
  const temp = tempDir('gatehouse-e2e-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let serving: ServingChild;
  try {
    serving = await startServe(['--port', String(port), '--host', '127.0.0.1', '--data-dir', temp.dir, '--public-url', url, ...extraArgs], {
      GATEHOUSE_ADMIN_PASSWORD: CHILD_ADMIN_PASSWORD,
      ...env,
    });
  } catch (error) {
    temp.remove();
    throw error;
  }
  return {
    url,
    serving,
    async stop() {
      await stopServe(serving);
      temp.remove();
    },
  };
}
