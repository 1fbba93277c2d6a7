/** The one narrow seam between SQL and a database driver. SQL uses `?` placeholders on both backends. */
export type Row = Record<string, unknown>;

export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement and reports how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** A database connection (or pool) as the app owns it: the Db seam plus its lifecycle. */
export interface Database extends Db {
  /** Applies the migrations not applied yet, safely when several replicas start at once. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
  /** Where it lives, without credentials, for logs and `doctor`. */
  readonly description: string;
  /** The database's size on disk in bytes (SQLite: the file's pages; PostgreSQL: the whole database). */
  sizeBytes(): Promise<number>;
  /**
   * Gives freed space back to the file system. SQLite: `incremental` returns the free pages of an auto_vacuum
   * database (no-op otherwise); `full` rewrites the file (VACUUM), which also turns on incremental auto_vacuum for
   * a database created before it. PostgreSQL: nothing to do, autovacuum reuses the space.
   */
  reclaimSpace(mode: 'incremental' | 'full'): Promise<void>;
  /** SQLite only: an online, consistent copy to `file` (the backup API, pages copied while writers go on). */
  backup?(file: string): Promise<void>;
}

/**
 * Whether a write failed on a UNIQUE (or primary key) constraint, on either backend: a race that a check before
 * the write cannot exclude (two creates of one name at the same instant) surfaces as this.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** How many times a statement PostgreSQL aborted as a deadlock's victim is sent in all. */
const DEADLOCK_ATTEMPTS = 3;

/**
 * `statement`, sent again when PostgreSQL aborts it to break a deadlock (40P01), as its manual advises: an aborted
 * statement wrote nothing. Only for a statement that is its own transaction (not one inside `transaction`, whose
 * earlier statements the abort undid too).
 */
export async function retriedOnDeadlock<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= DEADLOCK_ATTEMPTS || (error as { code?: unknown } | null)?.code !== '40P01') throw error;
    }
  }
}
