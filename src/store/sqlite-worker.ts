/**
 * The SQLite worker thread (started by `sqlite-thread.ts`): it owns the database's only writable connection, with
 * its group commit, and runs the SQL stores in its own event loop. The main thread sends store calls and gets their
 * results, so none of SQLite's work (statements, COMMIT with its WAL writes, checkpoints) runs on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Database, Db } from './db.js';
import { openSqlite, type SqliteSync } from './sqlite.js';
import { sqlStoresOn } from './sql-stores.js';
import { perTurnQueue, postAll, sentError, type ThreadAnswer, type ThreadCall, type WorkerGreeting } from './thread-messages.js';

const port = parentPort!;
const { dataDir, sync } = workerData as { dataDir: string; sync: SqliteSync };

/** A transaction whose work runs on the main thread: held open here until the main thread says how it ended. */
interface HeldTransaction {
  tx: Db;
  end(committed: boolean): void;
  done: Promise<unknown>;
}

const ROLLED_BACK = new Error('rolled back by its work on the main thread');

/** The raw database's methods the main thread may call (the rest of `Database` is answered there). */
const DATABASE_METHODS = new Set(['all', 'get', 'run', 'ping', 'sizeBytes', 'reclaimSpace', 'backup']);
const STATEMENTS = new Set(['all', 'get', 'run']);

async function serve(): Promise<void> {
  let database: Database;
  try {
    database = openSqlite(dataDir, { sync });
  } catch (error) {
    port.postMessage({ failed: sentError(error) } satisfies WorkerGreeting);
    return;
  }
  try {
    await database.migrate();
  } catch (error) {
    await database.close().catch(() => undefined);
    port.postMessage({ failed: sentError(error) } satisfies WorkerGreeting);
    return;
  }
  const stores = sqlStoresOn(database) as unknown as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>;
  const held = new Map<number, HeldTransaction>();

  const answer = perTurnQueue<ThreadAnswer>((answers) =>
    postAll((batch) => port.postMessage(batch), answers, ([id], error) => port.postMessage([[id, 1, sentError(error)]])),
  );
  const settle = (id: number, result: Promise<unknown>) =>
    result.then(
      (value) => answer([id, 0, value]),
      (error: unknown) => answer([id, 1, sentError(error)]),
    );

  const openTransaction = (id: number, txId: number) => {
    const entry = {} as HeldTransaction;
    entry.done = database.transaction(
      (tx) =>
        // Called when the group commit reaches this transaction in its batch (at once if none is open).
        new Promise((resolve, reject) => {
          entry.tx = tx;
          entry.end = (committed) => (committed ? resolve(undefined) : reject(ROLLED_BACK));
          held.set(txId, entry);
          answer([id, 0, null]);
        }),
    );
    // Failed before the work began (BEGIN failed): the main thread's work never runs.
    entry.done.catch((error: unknown) => {
      if (!entry.tx) answer([id, 1, sentError(error)]);
    });
  };

  const endTransaction = (txId: number, committed: boolean): Promise<unknown> => {
    const transaction = held.get(txId);
    if (!transaction) return Promise.reject(new Error(`no open transaction ${txId}`));
    held.delete(txId);
    transaction.end(committed);
    return committed ? transaction.done : transaction.done.catch((error: unknown) => (error === ROLLED_BACK ? undefined : Promise.reject(error)));
  };

  const call = ([id, target, method, args]: ThreadCall): void => {
    if (target === '$tx') {
      const [txId, ...rest] = args as [number, ...unknown[]];
      if (method === 'open') return openTransaction(id, txId);
      if (method === 'end') return void settle(id, endTransaction(txId, rest[0] === true));
      const transaction = held.get(txId);
      if (!transaction || !STATEMENTS.has(method)) return void settle(id, Promise.reject(new Error(`no open transaction ${txId}`)));
      return void settle(id, invoke(transaction.tx as unknown as Record<string, unknown>, method, rest));
    }
    if (target === '$db') {
      if (method === 'close') return void settle(id, database.close());
      if (!DATABASE_METHODS.has(method)) return void settle(id, Promise.reject(new Error(`the database has no method ${method} here`)));
      return void settle(id, invoke(database as unknown as Record<string, unknown>, method, args));
    }
    const store = stores[target];
    if (!store || typeof store[method] !== 'function') return void settle(id, Promise.reject(new Error(`no store method ${target}.${method}`)));
    settle(id, invoke(store, method, args));
  };

  port.on('message', (calls: ThreadCall[]) => {
    for (const each of calls) call(each);
  });
  const shape = Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, Object.keys(store)]));
  port.postMessage({ ready: shape } satisfies WorkerGreeting);
}

function invoke(target: Record<string, unknown>, method: string, args: unknown[]): Promise<unknown> {
  try {
    return Promise.resolve((target[method] as (...args: unknown[]) => unknown)(...args));
  } catch (error) {
    return Promise.reject(error);
  }
}

void serve();
