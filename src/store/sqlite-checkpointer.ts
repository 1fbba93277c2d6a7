import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteSync } from './sqlite.js';

/**
 * How often the checkpointer copies committed WAL frames into the database file. Each round rewrites the pages the
 * commits since the last one dirtied and fsyncs; the gateway's audit inserts dirty the same few pages at the end of
 * their tables, so a longer interval copies each of them fewer times (bench/README.md).
 */
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * The writer's own automatic checkpoint, kept as a backstop (SQLite's default is 1,000 pages): it runs only if the
 * checkpointer falls this far behind, or is gone.
 */
export const BACKSTOP_WAL_PAGES = 10_000;

/**
 * The checkpointer's side: a connection of its own to the same file, with the writer's `synchronous` (a checkpoint's
 * fsyncs follow the connection that runs it). PASSIVE never waits for the writer or readers: it copies what it can.
 * CommonJS run with `eval`, so the same code serves the build and the tests (tsx); better-sqlite3 by its resolved path.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
// data_version changes when another connection commits: a round with nothing committed since a checkpoint that
// copied the whole WAL has nothing to do, so an idle store costs no I/O.
let copiedAt;
setInterval(() => {
  try {
    const version = db.pragma('data_version', { simple: true });
    if (version === copiedAt) return;
    const [{ log, checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)');
    copiedAt = log === checkpointed ? version : undefined;
  } catch {
    // The next round tries again; the writer's backstop checkpoint covers a checkpointer that keeps failing.
  }
}, workerData.intervalMs);
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * WAL checkpoints on a thread of their own. A checkpoint copies the WAL's pages into the database file and fsyncs
 * both; run by the writer (SQLite's automatic checkpoint, inside a COMMIT) it took ~4 % of the main thread under
 * refresh load and stalled the COMMIT that crossed the threshold (bench/README.md). Durability is unchanged: a write
 * is answered once its COMMIT is in the WAL, as before; the checkpoint only moves it into the main file.
 */
export function startCheckpointer(file: string, sync: SqliteSync): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3'), synchronous: sync === 'full' ? 'FULL' : 'NORMAL', intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  // Never what keeps the process alive; a failure to start leaves the writer's backstop checkpoint doing the work.
  worker.unref();
  worker.on('error', () => undefined);
  return {
    async stop() {
      await worker.terminate();
    },
  };
}
