import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database, Db, Row } from './db.js';
import { applyPendingMigrations, migrationsTable } from './migrate.js';
import { BACKSTOP_WAL_PAGES, startCheckpointer, type RestartSettings } from './sqlite-checkpointer.js';

type RunResult = { changes: number };

interface PendingWrite {
  run(): RunResult;
  resolve(value: RunResult): void;
  reject(error: unknown): void;
}

interface PendingTransaction {
  work: (tx: Db) => Promise<unknown>;
  /** One statement (a write that joined the batch): SQLite undoes a failed statement by itself, so it needs no savepoint. */
  single: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Transactions in one group commit at most; beyond it the batch commits and the rest start the next one. */
const MAX_BATCH = 64;
/**
 * Event-loop turns an open batch waits for more transactions: a second one only if the first brought some. The
 * token endpoint signs on libuv's threadpool, so the rotations of requests read together come back over a few
 * turns; one turn split them over two or three COMMITs (measured in bench/README.md).
 */
const MAX_WAIT_TURNS = 2;

/**
 * One connection, with group commit. better-sqlite3 is synchronous but a transaction's work is async, so
 * transactions requested while one is open queue up and run one after another inside the same BEGIN IMMEDIATE,
 * each in its own savepoint (a failing work rolls back only its own writes), and commit together once the event
 * loop has let every request of this turn (and of the next, if this one brought some: `MAX_WAIT_TURNS`) join:
 * one COMMIT and one WAL write of the pages they share, instead of one each. Each transaction's promise settles only after the COMMIT that made it durable (or failed it).
 * Reads outside transactions never run inside an open one (they would see uncommitted writes): they wait for the
 * commit and run before the next batch begins. Writes on their own (`run`) are gathered per turn as well (`write`). Nothing inside a transaction's work may wait for a
 * statement outside it (the work would wait for its own commit).
 */
export class GroupCommit {
  private open = false;
  /** While the checkpointer copies the WAL's last frames (sqlite-checkpointer.ts): no batch begins, work queues. */
  private held = false;
  private quiet?: () => void;
  private readonly transactions: PendingTransaction[] = [];
  private readonly statements: (() => void)[] = [];
  private readonly writes: PendingWrite[] = [];
  private sql?: Record<'begin' | 'commit' | 'savepoint' | 'release' | 'rollbackTo', BetterSqlite3.Statement>;

  constructor(
    private readonly connection: BetterSqlite3.Database,
    private readonly tx: Db,
  ) {}

  statement<T>(task: () => Promise<T> | T): Promise<T> {
    if (!this.open) return settleNow(task);
    return new Promise<T>((resolve, reject) => this.statements.push(() => settleNow(task).then(resolve, reject)));
  }

  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.transactions.push({ work, single: false, resolve: resolve as (value: unknown) => void, reject });
      if (!this.open && !this.held) void this.runBatch();
    });
  }

  /** Resolves once no batch is open; until `release`, none begins and no write runs (they queue). */
  hold(): Promise<void> {
    this.held = true;
    return this.open ? new Promise<void>((resolve) => (this.quiet = resolve)) : Promise.resolve();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.flushWrites();
    if (this.transactions.length > 0 && !this.open) void this.runBatch();
  }

  /**
   * A write on its own (one statement). The writes of one event-loop turn commit together at its end: inside the
   * open batch if there is one (it holds the write lock already), else in one BEGIN…COMMIT run without yielding, so
   * no lock is held while other code runs. One COMMIT, one WAL append, for all of them.
   */
  write(run: () => RunResult): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      this.writes.push({ run, resolve, reject });
      if (this.writes.length === 1) setImmediate(() => this.flushWrites());
    });
  }

  /** Waits until no write or transaction is pending (before the connection closes). */
  async drain(): Promise<void> {
    while (this.open || this.writes.length > 0 || this.transactions.length > 0) {
      if (!this.open) this.flushWrites();
      await nextTurn();
    }
  }

  private flushWrites(): void {
    if (this.held && !this.open) return;
    const writes = this.writes.splice(0);
    if (writes.length === 0) return;
    if (this.open) {
      for (const write of writes) this.transactions.push({ work: async () => write.run(), single: true, resolve: write.resolve as (value: unknown) => void, reject: write.reject });
      return;
    }
    if (writes.length === 1) {
      const [write] = writes as [PendingWrite];
      void settleNow(write.run).then(write.resolve, write.reject);
      return;
    }
    const sql = this.prepared();
    const done: { write: PendingWrite; value: RunResult }[] = [];
    try {
      sql.begin.run();
      for (const write of writes) {
        try {
          done.push({ write, value: write.run() });
        } catch (error) {
          // SQLite undid the failed statement alone; if it ended the transaction, the others fail below too.
          if (!this.connection.inTransaction) throw error;
          write.reject(error);
        }
      }
      sql.commit.run();
      for (const { write, value } of done) write.resolve(value);
    } catch (error) {
      if (this.connection.inTransaction) this.connection.exec('ROLLBACK');
      for (const write of writes) write.reject(error);
    }
  }

  /** Prepared once: they run on every write path (the token endpoint's rotation among them). */
  private prepared() {
    this.sql ??= {
      begin: this.connection.prepare('BEGIN IMMEDIATE'),
      commit: this.connection.prepare('COMMIT'),
      savepoint: this.connection.prepare('SAVEPOINT work'),
      release: this.connection.prepare('RELEASE work'),
      rollbackTo: this.connection.prepare('ROLLBACK TO work'),
    };
    return this.sql;
  }

  private async runBatch(): Promise<void> {
    this.open = true;
    const done: { entry: PendingTransaction; value: unknown }[] = [];
    const failDone = (error: unknown) => {
      for (const { entry } of done.splice(0)) entry.reject(error);
    };
    try {
      const sql = this.prepared();
      sql.begin.run();
      let turns = 0;
      let arrived = true;
      while (done.length < MAX_BATCH) {
        let entry = this.transactions.shift();
        if (!entry && arrived && turns < MAX_WAIT_TURNS) {
          // Let the requests whose bytes (or signatures) arrived in this turn reach their transactions.
          turns += 1;
          await nextTurn();
          entry = this.transactions.shift();
          arrived = entry !== undefined;
        }
        if (!entry) break;
        if (!entry.single) sql.savepoint.run();
        try {
          done.push({ entry, value: await entry.work(this.tx) });
          if (!entry.single) sql.release.run();
        } catch (error) {
          entry.reject(error);
          if (this.connection.inTransaction) {
            if (!entry.single) {
              sql.rollbackTo.run();
              sql.release.run();
            }
          } else {
            // SQLite ended the whole transaction (an I/O error, a full disk): the works before this one are lost too.
            failDone(error);
            sql.begin.run();
          }
        }
      }
      sql.commit.run();
      for (const { entry, value } of done) entry.resolve(value);
    } catch (error) {
      // BEGIN or COMMIT failed: nothing of this batch is durable, and the waiting transactions fail rather than retry.
      if (this.connection.inTransaction) this.connection.exec('ROLLBACK');
      failDone(error);
      for (const entry of this.transactions.splice(0)) entry.reject(error);
    } finally {
      this.open = false;
      for (const task of this.statements.splice(0)) task();
      if (this.held) {
        this.quiet?.();
        this.quiet = undefined;
      } else if (this.transactions.length > 0) void this.runBatch();
    }
  }
}

function settleNow<T>(task: () => Promise<T> | T): Promise<T> {
  try {
    return Promise.resolve(task());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** After the I/O callbacks of this event-loop turn, so the requests they carry can join the open batch. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** SQLite has no booleans: true and false are bound as 1 and 0, in a copy made only when there are some (rarely). */
function bindable(params: readonly unknown[]): readonly unknown[] {
  for (let i = 0; i < params.length; i++) {
    if (typeof params[i] === 'boolean') return params.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
  }
  return params;
}

const STATEMENT_CACHE_LIMIT = 512;

// Preparing costs more than running most of our statements; the SQL texts are constants, so cache them.
const statementCaches = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

function cachedStatement(connection: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  let statements = statementCaches.get(connection);
  if (!statements) statementCaches.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) {
    if (statements.size >= STATEMENT_CACHE_LIMIT) statements.clear();
    statement = connection.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

function runNow(connection: BetterSqlite3.Database, sql: string, params: readonly unknown[] = []): RunResult {
  return { changes: cachedStatement(connection, sql).run(...bindable(params)).changes };
}

function directDb(connection: BetterSqlite3.Database): Db {
  const db: Db = {
    dialect: 'sqlite',
    async all<T = Row>(sql: string, params: readonly unknown[] = []) {
      return cachedStatement(connection, sql).all(...bindable(params)) as T[];
    },
    async get<T = Row>(sql: string, params: readonly unknown[] = []) {
      return cachedStatement(connection, sql).get(...bindable(params)) as T | undefined;
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return runNow(connection, sql, params);
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
  // Takes effect on a new database (before its first table) and at the next VACUUM of an older one; it lets
  // `gatehouse maintenance` hand the pages freed by retention back to the file system.
  connection.pragma('auto_vacuum = INCREMENTAL');
  connection.pragma('journal_mode = WAL');
  // With WAL, NORMAL keeps every answered write across a crash of the process (the WAL is written before
  // COMMIT returns) and fsyncs only at checkpoints; FULL also survives a power cut, at one fsync per commit.
  connection.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  // A group commit runs each transaction in a savepoint, whose journal of pages to undo otherwise spills to a temporary
  // file past 64 KiB: an open, an unlink and a write per page on the token endpoint's path (bench/README.md). Temporary
  // tables and sorts are kept in memory too; our statements are bounded (batches, pages), so they stay small.
  connection.pragma('temp_store = MEMORY');
  // Checkpoints are the checkpointer's (sqlite-checkpointer.ts); the writer's own is a backstop only.
  connection.pragma(`wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
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
export function openSqlite(dataDir: string, options: { readOnly?: boolean; sync?: SqliteSync; restart?: Partial<RestartSettings> } = {}): Database {
  const file = sqliteFile(dataDir);
  const connection = options.readOnly ? openReadOnly(file) : openWritable(dataDir, file, options.sync ?? 'normal');
  const inner = directDb(connection);
  const group = new GroupCommit(connection, inner);
  const checkpointer = options.readOnly ? undefined : startCheckpointer(file, options.sync ?? 'normal', group, options.restart);
  const transaction = <T>(work: (tx: Db) => Promise<T>): Promise<T> =>
    options.readOnly ? Promise.reject(new Error('the database is open read-only')) : group.transaction(work);

  return {
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    all: (sql, params) => group.statement(() => inner.all(sql, params)),
    get: (sql, params) => group.statement(() => inner.get(sql, params)),
    // A write on its own is a transaction of one: it shares the batch's COMMIT (one WAL append for the turn's writes).
    run: (sql, params) => (options.readOnly ? group.statement(() => inner.run(sql, params)) : group.write(() => runNow(connection, sql, params))),
    transaction,
    async migrate() {
      connection.exec(migrationsTable);
      await transaction((tx) => applyPendingMigrations(tx, async (sql) => void connection.exec(sql)));
    },
    async ping() {
      await group.statement(() => connection.prepare('SELECT 1').get());
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async sizeBytes() {
      return group.statement(() => {
        const pages = Number(connection.pragma('page_count', { simple: true }));
        return pages * Number(connection.pragma('page_size', { simple: true }));
      });
    },
    async reclaimSpace(mode) {
      if (options.readOnly) throw new Error('the database is open read-only');
      await group.drain();
      // Outside the group commit (neither may run inside a transaction); other connections wait on busy_timeout.
      await group.statement(() => void connection.exec(mode === 'full' ? 'VACUUM' : 'PRAGMA incremental_vacuum'));
    },
    async backup(destination) {
      await connection.backup(destination);
    },
    async close() {
      await group.drain();
      // First, so the writer is the last connection: closing, it checkpoints what is left and removes the WAL.
      await checkpointer?.stop();
      await group.statement(() => {
        if (connection.open) connection.close();
      });
    },
  };
}
