import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database, Db, Row } from './db.js';
import { applyPendingMigrations, migrationsTable } from './migrate.js';

/**
 * One connection serialised by a promise chain: better-sqlite3 is synchronous, but a transaction's work is async,
 * so statements from elsewhere must wait until that transaction has committed rather than slip into it.
 */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function bindable(params: readonly unknown[]): unknown[] {
  return params.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

const STATEMENT_CACHE_LIMIT = 512;

function directDb(connection: BetterSqlite3.Database): Db {
  // Preparing costs more than running most of our statements; the SQL texts are constants, so cache them.
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= STATEMENT_CACHE_LIMIT) statements.clear();
      statement = connection.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const db: Db = {
    dialect: 'sqlite',
    async all<T = Row>(sql: string, params: readonly unknown[] = []) {
      return prepare(sql).all(...bindable(params)) as T[];
    },
    async get<T = Row>(sql: string, params: readonly unknown[] = []) {
      return prepare(sql).get(...bindable(params)) as T | undefined;
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return { changes: prepare(sql).run(...bindable(params)).changes };
    },
    // Already inside the one open transaction: nested work joins it.
    transaction: (work) => work(db),
  };
  return db;
}

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'gatehouse.db');
}

export type SqliteSync = 'normal' | 'full';

function openWritable(dataDir: string, file: string, sync: SqliteSync): BetterSqlite3.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const connection = new BetterSqlite3(file);
  connection.pragma('journal_mode = WAL');
  // With WAL, NORMAL keeps every answered write across a crash of the process (the WAL is written before
  // COMMIT returns) and fsyncs only at checkpoints; FULL also survives a power cut, at one fsync per commit.
  connection.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  // SQLite gives the -wal and -shm files the database file's mode, so owner-only here covers all three.
  chmodSync(file, 0o600);
  return connection;
}

/** For inspection (`gatehouse doctor`): never creates the file or changes modes, so it reports what is there. */
function openReadOnly(file: string): BetterSqlite3.Database {
  const connection = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  connection.pragma('busy_timeout = 5000');
  return connection;
}

/** Opens (creating when absent) the SQLite database in the data directory: WAL, owner-only files. */
export function openSqlite(dataDir: string, options: { readOnly?: boolean; sync?: SqliteSync } = {}): Database {
  const file = sqliteFile(dataDir);
  const connection = options.readOnly ? openReadOnly(file) : openWritable(dataDir, file, options.sync ?? 'normal');
  const queue = new SerialQueue();
  const inner = directDb(connection);

  // Prepared once: these run on every write path (the token endpoint's rotation among them).
  const begin = options.readOnly ? undefined : connection.prepare('BEGIN IMMEDIATE');
  const commit = options.readOnly ? undefined : connection.prepare('COMMIT');
  const transaction = <T>(work: (tx: Db) => Promise<T>): Promise<T> =>
    queue.run(async () => {
      if (!begin || !commit) throw new Error('the database is open read-only');
      begin.run();
      try {
        const result = await work(inner);
        commit.run();
        return result;
      } catch (error) {
        if (connection.inTransaction) connection.exec('ROLLBACK');
        throw error;
      }
    });

  return {
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    all: (sql, params) => queue.run(() => inner.all(sql, params)),
    get: (sql, params) => queue.run(() => inner.get(sql, params)),
    run: (sql, params) => queue.run(() => inner.run(sql, params)),
    transaction,
    async migrate() {
      connection.exec(migrationsTable);
      await transaction((tx) => applyPendingMigrations(tx, async (sql) => void connection.exec(sql)));
    },
    async ping() {
      await queue.run(() => connection.prepare('SELECT 1').get());
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async close() {
      await queue.run(() => {
        if (connection.open) connection.close();
      });
    },
  };
}
