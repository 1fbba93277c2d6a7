import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteSync } from './sqlite.js';

/** How often the checkpointer looks whether a checkpoint is due: a clock read, a `stat` of the WAL, at most one `PRAGMA data_version`. */
const POLL_MS = 200;
/**
 * The longest committed frames wait to be copied into the database file. Each round rewrites the pages the commits
 * since the last one dirtied and fsyncs both files; the gateway's audit inserts dirty the same few pages at the end
 * of their tables, so a longer interval copies each of them fewer times and fsyncs less often (bench/README.md).
 */
const INTERVAL_MS = 1000;
/**
 * About how many frames a round should find (SQLite's own default threshold): under a heavier write load the next
 * round comes sooner, down to `POLL_MS`, so the WAL stays short.
 */
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
 * When: a round is due `INTERVAL_MS` after the last, or sooner when the last one's frames (`log`, the WAL's frames
 * since it last restarted) came at a rate that brings `EAGER_PAGES` earlier, never sooner than `POLL_MS`; and at once
 * when the WAL file grew by `EAGER_PAGES` since the last round (a `stat`, no descriptor: a file descriptor of the
 * database's files closed outside SQLite would drop its POSIX locks), which catches a burst after a quiet spell before
 * the writer's backstop does. After a round that found nothing committed the rate is unknown, so the next commit's
 * round comes at the next poll. A round with `PRAGMA data_version` unchanged since a checkpoint that copied the whole
 * WAL has nothing to do (an idle store: no I/O); one that a reader held back is retried on the next due round,
 * committed or not. Statements prepared once.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
const dataVersion = db.prepare('PRAGMA data_version').pluck();
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const { pollMs, intervalMs, eagerPages } = workerData;
const eagerBytes = eagerPages * db.pragma('page_size', { simple: true });
const walFile = workerData.file + '-wal';
const walSize = () => statSync(walFile, { throwIfNoEntry: false })?.size ?? 0;
let copiedAt;
let roundAt = Date.now();
let sizeAtRound = walSize();
let waitMs = 0;
setInterval(() => {
  const now = Date.now();
  try {
    const size = walSize();
    if (now - roundAt < waitMs && size - sizeAtRound < eagerBytes) return;
    sizeAtRound = size;
    const version = dataVersion.get();
    if (version === copiedAt) {
      roundAt = now;
      waitMs = 0;
      return;
    }
    const { log, checkpointed } = checkpoint.get();
    // Frames per ms since the last round; none (or -1, no WAL): the full interval.
    const rate = log > 0 ? log / Math.max(1, now - roundAt) : 0;
    waitMs = rate > 0 ? Math.min(intervalMs, eagerPages / rate) : intervalMs;
    roundAt = now;
    copiedAt = log === checkpointed ? version : undefined;
  } catch {
    // The next round tries again; the writer's backstop checkpoint covers a checkpointer that keeps failing.
  }
}, pollMs);
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
