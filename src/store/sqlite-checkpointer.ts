import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteSync } from './sqlite.js';

/**
 * How often the checkpointer looks at the WAL: one read of the wal-index header (the `-shm` file), no SQL. It
 * checkpoints when the frames not yet copied reach `EAGER_PAGES`, or when some are waiting and the last checkpoint
 * is `INTERVAL_MS` old.
 */
const POLL_MS = 200;
/**
 * The longest committed frames wait to be copied into the database file. Each round rewrites the pages the commits
 * since the last one dirtied and fsyncs both files; the gateway's audit inserts dirty the same few pages at the end
 * of their tables, so a longer interval copies each of them fewer times and fsyncs less often (bench/README.md).
 */
const INTERVAL_MS = 1000;
/** Frames not yet copied that make a round checkpoint at once (SQLite's own default threshold): keeps the WAL short under write load. */
const EAGER_PAGES = 1000;
/**
 * The writer's own automatic checkpoint, kept as a backstop (SQLite's default is 1,000 pages): it runs only if the
 * checkpointer falls this far behind, or is gone.
 */
export const BACKSTOP_WAL_PAGES = 10_000;

/**
 * The checkpointer's side: a connection of its own to the same file, with the writer's `synchronous` (a checkpoint's
 * fsyncs follow the connection that runs it). PASSIVE never waits for the writer or readers: it copies what it can.
 * CommonJS run with `eval`, so the same code serves the build and the tests (tsx); better-sqlite3 by its resolved path.
 *
 * What waits to be copied is read from the wal-index header (https://www.sqlite.org/walformat.html, native byte
 * order): `mxFrame` (the last committed frame, at byte 16) less `nBackfill` (the frames a checkpoint copied, at byte
 * 96). Read without SQLite's locks, it only decides whether to run a round: a torn read makes a round early or late,
 * never a checkpoint wrong. Nothing waiting (an idle store, or a checkpoint that copied the whole WAL): no I/O. A
 * checkpoint a reader held back leaves frames waiting, so a later round tries again, committed or not. When the
 * header cannot be read, every round checkpoints.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { openSync, readSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const header = Buffer.alloc(100);
const u32 = require('node:os').endianness() === 'LE' ? (at) => header.readUInt32LE(at) : (at) => header.readUInt32BE(at);
let shm;
const waiting = () => {
  try {
    shm ??= openSync(workerData.file + '-shm', 'r');
    if (readSync(shm, header, 0, 100, 0) < 100) return Infinity;
    return u32(16) - u32(96);
  } catch {
    return Infinity;
  }
};
let checkpointedAt = Date.now();
setInterval(() => {
  const frames = waiting();
  if (frames <= 0) return;
  if (frames < workerData.eagerPages && Date.now() - checkpointedAt < workerData.intervalMs) return;
  checkpointedAt = Date.now();
  try {
    checkpoint.run();
  } catch {
    // The next round tries again; the writer's backstop checkpoint covers a checkpointer that keeps failing.
  }
}, workerData.pollMs);
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
    workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3'), synchronous: sync === 'full' ? 'FULL' : 'NORMAL', pollMs: POLL_MS, intervalMs: INTERVAL_MS, eagerPages: EAGER_PAGES },
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
