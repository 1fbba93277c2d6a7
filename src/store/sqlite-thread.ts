import { Worker } from 'node:worker_threads';
import type { Database, Db, Row } from './db.js';
import { sqliteFile, type SqliteSync } from './sqlite.js';
import type { SqlStores } from './sql-stores.js';
import { sqlLoginFailureStore } from './sql/login-failures.js';
import { perTurnQueue, postAll, receivedError, type ThreadAnswer, type ThreadCall, type WorkerGreeting } from './thread-messages.js';

/**
 * A writable SQLite database served by a worker thread (`sqlite-worker.ts`): the worker owns the only connection
 * and runs the SQL stores with their group commit; this thread gets stores of the same shape whose methods send
 * the call there and resolve with its result, once the COMMIT that made it durable is done. The calls of one
 * event-loop turn travel as one message, and so do the answers.
 *
 * What cannot cross: a store method taking a callback (`loginFailures.update`) and `database.transaction(work)` run
 * their work here, each statement of it a message into one transaction the worker holds open until the work
 * settles (rare paths: correctness over speed). Once the worker has stopped (closed, or died), every pending call
 * fails with the reason and so does every later one: a dead worker is not restarted, since the process cannot tell
 * what it had committed of the calls in flight, and `/readyz` fails with it (its ping is a call).
 */
export interface SqliteThread {
  database: Database;
  stores: SqlStores;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The worker's module beside this one: the build's `.js`; or, when this module runs as TypeScript under tsx (tests,
 * scripts), the `.ts` source, with tsx registered in the worker first (Node 20 does not run `--import tsx` there).
 */
function startWorker(workerData: { dataDir: string; sync: SqliteSync }): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData });
  const source = new URL('./sqlite-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export async function openSqliteThread(dataDir: string, options: { sync?: SqliteSync } = {}): Promise<SqliteThread> {
  const worker = startWorker({ dataDir, sync: options.sync ?? 'normal' });
  const link = new WorkerLink(worker);
  const shape = await link.greeting;
  const database = threadDatabase(link, sqliteFile(dataDir));
  const stores = Object.fromEntries(
    Object.entries(shape).map(([name, methods]) => [name, Object.fromEntries(methods.map((method) => [method, (...args: unknown[]) => link.call(name, method, args)]))]),
  ) as unknown as SqlStores;
  // Its decision is a callback: the method runs here, over the raw database's transaction.
  stores.loginFailures = { ...stores.loginFailures, update: sqlLoginFailureStore(database).update };
  return { database, stores };
}

/** The calls in flight to one worker and their answers. */
class WorkerLink {
  readonly greeting: Promise<Record<string, string[]>>;
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  /** Set once the worker has stopped: every call fails with it from then on. */
  private stopped?: Error;
  private readonly send = perTurnQueue<ThreadCall>((calls) =>
    postAll(
      (batch) => this.worker.postMessage(batch),
      calls,
      ([id], error) => this.settle([id, 1, { name: 'DataCloneError', message: `a store call's arguments cannot be sent to the SQLite worker: ${String(error)}`, properties: {} }]),
    ),
  );

  constructor(private readonly worker: Worker) {
    // Only calls in flight keep the process alive (`call` refs it while any is pending).
    worker.unref();
    this.greeting = new Promise((resolve, reject) => {
      const greeted = (greeting: WorkerGreeting) => {
        if ('failed' in greeting) reject(receivedError(greeting.failed));
        else {
          worker.on('message', (answers: ThreadAnswer[]) => {
            for (const answer of answers) this.settle(answer);
          });
          resolve(greeting.ready);
        }
      };
      worker.once('message', greeted);
      worker.once('error', (error) => {
        this.stop(new Error(`the SQLite worker thread failed: ${error.message}`, { cause: error }));
        reject(error);
      });
      worker.once('exit', (code) => {
        this.stop(new Error(`the SQLite worker thread exited (code ${code})`));
        reject(this.stopped);
      });
    });
    this.greeting.catch(() => void worker.terminate());
  }

  call(target: string, method: string, args: unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send([id, target, method, args]);
    });
  }

  /** Stops the worker at once (after `close` has drained it); later calls fail with `reason`. */
  async end(reason: Error): Promise<void> {
    this.stopped ??= reason;
    await this.worker.terminate();
  }

  private settle([id, failed, value]: ThreadAnswer): void {
    const call = this.pending.get(id);
    if (!call) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    if (failed) call.reject(receivedError(value));
    else call.resolve(value);
  }

  private stop(reason: Error): void {
    this.stopped ??= reason;
    for (const call of this.pending.values()) call.reject(this.stopped);
    this.pending.clear();
    this.worker.unref();
  }
}

/** The raw database: statements and upkeep as calls; `transaction` runs its work here (see above). */
function threadDatabase(link: WorkerLink, file: string): Database {
  let nextTransaction = 1;
  const statements = (target: string, prefix: unknown[]) => ({
    all: async <T = Row>(sql: string, params: readonly unknown[] = []) => ((await link.call(target, 'all', [...prefix, sql, params])) as Row[]).map(withBuffers) as T[],
    get: async <T = Row>(sql: string, params: readonly unknown[] = []) => {
      const row = (await link.call(target, 'get', [...prefix, sql, params])) as Row | undefined;
      return (row && withBuffers(row)) as T | undefined;
    },
    run: (sql: string, params: readonly unknown[] = []) => link.call(target, 'run', [...prefix, sql, params]) as Promise<{ changes: number }>,
  });

  async function transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    const txId = nextTransaction++;
    await link.call('$tx', 'open', [txId]);
    // Nested transactions join this one, as on the worker's connection.
    const tx: Db = { dialect: 'sqlite', ...statements('$tx', [txId]), transaction: (inner) => inner(tx) };
    let value: T;
    try {
      value = await work(tx);
    } catch (error) {
      await link.call('$tx', 'end', [txId, false]);
      throw error;
    }
    await link.call('$tx', 'end', [txId, true]);
    return value;
  }

  const upkeep = (method: string, args: unknown[] = []) => link.call('$db', method, args);
  return {
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    ...statements('$db', []),
    transaction,
    // The worker migrated the database before it answered its first call.
    migrate: async () => undefined,
    ping: async () => void (await upkeep('ping')),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    sizeBytes: () => upkeep('sizeBytes') as Promise<number>,
    reclaimSpace: async (mode) => void (await upkeep('reclaimSpace', [mode])),
    backup: async (destination) => void (await upkeep('backup', [destination])),
    async close() {
      try {
        await upkeep('close');
      } finally {
        await link.end(new Error('the database is closed'));
      }
    },
  };
}

/** Structured clone turns a Buffer (a BLOB column) into a plain Uint8Array: callers of the raw database get Buffers back. */
function withBuffers(row: Row): Row {
  for (const key in row) {
    const value = row[key];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return row;
}
