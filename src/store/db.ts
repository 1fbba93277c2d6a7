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
}

/**
 * Whether a write failed on a UNIQUE (or primary key) constraint, on either backend: a race that a check before
 * the write cannot exclude (two creates of one name at the same instant) surfaces as this.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
