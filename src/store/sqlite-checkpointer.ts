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
 * The WAL restarts at its start only when a write transaction begins with every frame copied. Under a steady write
 * load a checkpoint running beside the writer never copies the frames committed while it ran, so without help the WAL
 * grew to the backstop and the writer's own checkpoint ran, fsyncs and all, on the main thread (bench/README.md).
 * Past `RESTART_PAGES` frames the checkpointer copies what was committed meanwhile beside the writer, in at most
 * `TAIL_PASSES` further checkpoints or until one copied at most `TAIL_PAGES`; then it asks the writer to hold its
 * next batch while it copies the last frames (a pause of a few ms), and the batch after the hold restarts the WAL.
 */
const RESTART_PAGES = 4_000;
const TAIL_PAGES = 256;
const TAIL_PASSES = 4;
/** The longest the writer holds for the checkpointer: past it (a checkpointer stuck or gone) it goes on regardless. */
const HOLD_LIMIT_MS = 100;

/** What a round of the checkpointer found: `log` frames in the WAL since it last restarted, `checkpointed` of them copied. */
export interface CheckpointOutcome {
  log: number;
  checkpointed: number;
}

/** The pacing's settings (the constants above, the database's page size). */
export interface PacingSettings {
  intervalMs: number;
  eagerPages: number;
  pageSize: number;
  restartPages: number;
  tailPages: number;
}

/**
 * When the checkpointer runs a round, from what it reads on each poll (the clock, the WAL file's size, `PRAGMA
 * data_version`) and what each checkpoint found. No I/O and no clock of its own, so its rules are tested alone; the
 * worker runs this function from its source (`toString`), so it may use nothing from outside its own body.
 *
 * A round is due `intervalMs` after the last, or sooner when the last one's frames came at a rate that brings
 * `eagerPages` earlier; and at once when the WAL file grew by `eagerPages` since the last round, which catches a
 * burst after a quiet spell before the writer's backstop does. After a round that found nothing committed the rate
 * is unknown, so the next commit's round comes at the next poll. A due round with `data_version` unchanged since a
 * checkpoint that copied the whole WAL has nothing to do (an idle store: no I/O); one that a reader held back is run
 * again on the next due round, committed or not.
 */
export function checkpointPacing(settings: PacingSettings, start: { now: number; walBytes: number }) {
  const eagerBytes = settings.eagerPages * settings.pageSize;
  let roundAt = start.now;
  let sizeAtRound = start.walBytes;
  let waitMs = 0;
  /** `data_version` when the last checkpoint copied the whole WAL; undefined after one a reader held back. */
  let copiedAt: number | undefined;
  return {
    /** Whether a round is due at `now` with the WAL file `walBytes` long. */
    due(now: number, walBytes: number): boolean {
      if (now - roundAt < waitMs && walBytes - sizeAtRound < eagerBytes) return false;
      sizeAtRound = walBytes;
      return true;
    },
    /** Whether a due round must checkpoint: the store changed (`version`) since the whole WAL was last copied. */
    mustCheckpoint(now: number, version: number): boolean {
      if (version !== copiedAt) return true;
      roundAt = now;
      waitMs = 0;
      return false;
    },
    /** What the round's checkpoint found, which sets when the next is due. */
    checkpointed(now: number, version: number, outcome: CheckpointOutcome): void {
      // Frames per ms since the last round; none (or -1, no WAL): the full interval.
      const rate = outcome.log > 0 ? outcome.log / Math.max(1, now - roundAt) : 0;
      waitMs = rate > 0 ? Math.min(settings.intervalMs, settings.eagerPages / rate) : settings.intervalMs;
      roundAt = now;
      copiedAt = outcome.log === outcome.checkpointed ? version : undefined;
    },
    /** Whether a round's checkpoint found the WAL long enough to restart it (`restartPages`). */
    restartDue(outcome: CheckpointOutcome): boolean {
      return outcome.log >= settings.restartPages;
    },
    /**
     * A further checkpoint of a round that restarts the WAL, `after` the one `before` it: each copies only the frames
     * the writer committed while the one before ran. `hold` once those were few (`tailPages`): the writer waits while
     * a last one copies the rest. `again` while they were more. `restarted`: the WAL began again meanwhile (the writer
     * found it all copied), or the checkpoint could not run. `blocked`: a reader's snapshot keeps the rest.
     */
    afterPass(before: CheckpointOutcome, after: CheckpointOutcome): 'hold' | 'again' | 'restarted' | 'blocked' {
      if (after.log < before.log) return 'restarted';
      const copied = after.checkpointed - before.checkpointed;
      if (copied === 0 && after.checkpointed < after.log) return 'blocked';
      return copied <= settings.tailPages ? 'hold' : 'again';
    },
  };
}

/**
 * The checkpointer's side: a connection of its own to the same file, with the writer's `synchronous` (a checkpoint's
 * fsyncs follow the connection that runs it). PASSIVE never waits for the writer or readers: it copies what it can.
 * CommonJS run with `eval`, so the same code serves the build and the tests (tsx); better-sqlite3 by its resolved path.
 * Every `POLL_MS` it asks the pacing (above) whether a round is due. The WAL's size comes from a `stat`, not a
 * descriptor: a file descriptor of the database's files closed outside SQLite would drop its POSIX locks.
 * `__name`: the helper tsx's transform calls in function sources to keep names (the build's source has none).
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const __name = (target) => target;
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
const dataVersion = db.prepare('PRAGMA data_version').pluck();
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const walFile = workerData.file + '-wal';
const walSize = () => statSync(walFile, { throwIfNoEntry: false })?.size ?? 0;
const pacing = (${checkpointPacing})({ ...workerData.pacing, pageSize: db.pragma('page_size', { simple: true }) }, { now: Date.now(), walBytes: walSize() });
let holding = false;
// The writer holds (no batch open): copy the last frames, so that its next transaction restarts the WAL. The pacing
// keeps the round's first checkpoint: the rate it measured is the writer's.
parentPort.on('message', () => {
  try {
    checkpoint.get();
  } catch {
    // As a failed round: the next one tries again.
  } finally {
    holding = false;
    parentPort.postMessage('release');
  }
});
setInterval(() => {
  if (holding) return;
  const now = Date.now();
  try {
    if (!pacing.due(now, walSize())) return;
    const version = dataVersion.get();
    if (!pacing.mustCheckpoint(now, version)) return;
    let outcome = checkpoint.get();
    pacing.checkpointed(now, version, outcome);
    if (!pacing.restartDue(outcome)) return;
    // Past the last pass, what is left is copied in the hold however much it is: a longer pause of the writer's
    // next batch, where the writer's own checkpoint would stall its thread.
    for (let pass = 1; ; pass++) {
      const before = outcome;
      outcome = checkpoint.get();
      const next = pacing.afterPass(before, outcome);
      if (next === 'again' && pass < workerData.tailPasses) continue;
      if (next === 'hold' || next === 'again') {
        holding = true;
        parentPort.postMessage('hold');
      }
      return;
    }
  } catch {
    // The next round tries again; the writer's backstop checkpoint covers a checkpointer that keeps failing.
  }
}, workerData.pollMs);
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/** The writer's side of a hold: `hold` resolves once no batch is open and keeps new ones from beginning until `release`. */
export interface HoldableWriter {
  hold(): Promise<void>;
  release(): void;
}

/** What the checkpointer's messages arrive on and answers go to: its Worker (or, in a test, a MessagePort). */
export interface CheckpointerPort {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  postMessage(message: unknown): void;
}

/**
 * The writer's half of the hold: on `hold` it holds the writer and answers `held` once no batch is open; on `release`
 * (or after `limitMs`, or when the returned function is called: the checkpointer failed or exited) it lets it go.
 */
export function answerHolds(port: CheckpointerPort, writer: HoldableWriter, limitMs = HOLD_LIMIT_MS): () => void {
  let limit: NodeJS.Timeout | undefined;
  const release = () => {
    clearTimeout(limit);
    writer.release();
  };
  port.on('message', (message) => {
    if (message === 'release') return release();
    if (message !== 'hold') return;
    void writer.hold().then(() => {
      // Not unref'd: work may be queued behind the hold, and the checkpointer's thread is, so this keeps the
      // process alive until the release.
      limit = setTimeout(release, limitMs);
      port.postMessage('held');
    });
  });
  return release;
}

/** Settings a test may shorten, to reach a restart with a small database. */
export type RestartSettings = Pick<PacingSettings, 'restartPages' | 'tailPages'>;

/**
 * WAL checkpoints on a thread of their own. A checkpoint copies the WAL's pages into the database file and fsyncs
 * both; run by the writer (SQLite's automatic checkpoint, inside a COMMIT) it took ~4 % of the main thread under
 * refresh load and stalled the COMMIT that crossed the threshold (bench/README.md). Durability is unchanged: a write
 * is answered once its COMMIT is in the WAL, as before; the checkpoint only moves it into the main file.
 */
export function startCheckpointer(file: string, sync: SqliteSync, writer: HoldableWriter, restart: Partial<RestartSettings> = {}): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: {
      file,
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      synchronous: sync === 'full' ? 'FULL' : 'NORMAL',
      pollMs: POLL_MS,
      tailPasses: TAIL_PASSES,
      pacing: { intervalMs: INTERVAL_MS, eagerPages: EAGER_PAGES, restartPages: RESTART_PAGES, tailPages: TAIL_PAGES, ...restart },
    },
  });
  const release = answerHolds(worker, writer);
  worker.on('error', release);
  worker.on('exit', release);
  // Never what keeps the process alive; a failure to start leaves the writer's backstop checkpoint doing the work.
  // After the listeners: a 'message' listener added to a Worker refs it again.
  worker.unref();
  return {
    async stop() {
      await worker.terminate();
    },
  };
}
