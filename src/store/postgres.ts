import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Database, Db, Row } from './db.js';
import { applyPendingMigrations, migrationsTable } from './migrate.js';

/** Any fixed number works; it only has to be the same for every replica of Gatehouse. */
const MIGRATION_LOCK_KEY = 7_160_520_241;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

// Timestamps are BIGINT milliseconds, well inside Number's exact range; pg would hand them over as strings.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/** Rewrites `?` placeholders to `$n` outside string literals; our SQL has no other `?`. */
export function toPostgresPlaceholders(sql: string): string {
  let index = 0;
  let inString = false;
  let out = '';
  for (const char of sql) {
    if (char === "'") inString = !inString;
    out += char === '?' && !inString ? `$${++index}` : char;
  }
  return out;
}

type Queryable = pg.Pool | pg.PoolClient;

const NAMED_STATEMENTS_LIMIT = 2000;

type StatementOf = (sql: string) => { name?: string; text: string };

/**
 * Every single statement runs as a named prepared statement: each connection parses and plans it once, and later
 * runs send only its name and values. Our SQL texts are constants (and a bounded set of filter combinations), so the
 * names are few; the name is a digest of the text, so two texts never share one.
 */
export function preparedStatements(limit = NAMED_STATEMENTS_LIMIT): StatementOf {
  const named = new Map<string, { name: string; text: string }>();
  return (sql) => {
    const known = named.get(sql);
    if (known) return known;
    const text = toPostgresPlaceholders(sql);
    // Several statements in one text cannot be prepared. Beyond the limit a text is not named either: every
    // connection keeps each name it prepared, so unnamed texts keep that bounded. Both run unprepared.
    if (text.includes(';') || named.size >= limit) return { text };
    const statement = { name: `gh_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    named.set(sql, statement);
    return statement;
  };
}

function queryDb(target: Queryable, transaction: Db['transaction'], statementOf: StatementOf): Db {
  const query = (sql: string, params: readonly unknown[] = []) => target.query({ ...statementOf(sql), values: params as unknown[] });
  return {
    dialect: 'postgres',
    async all<T = Row>(sql: string, params?: readonly unknown[]) {
      return (await query(sql, params)).rows as T[];
    },
    async get<T = Row>(sql: string, params?: readonly unknown[]) {
      return (await query(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params?: readonly unknown[]) {
      return { changes: (await query(sql, params)).rowCount ?? 0 };
    },
    transaction,
  };
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export function openPostgres(databaseUrl: string, options: { max?: number } = {}): Database {
  const statementOf = preparedStatements();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10, types, connectionTimeoutMillis: 10_000 });
  let closing: Promise<void> | undefined;
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);

  const withClient = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  };

  const transaction = <T>(work: (tx: Db) => Promise<T>): Promise<T> =>
    withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const tx: Db = queryDb(client, (nested) => nested(tx), statementOf);
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });

  const db = queryDb(pool, transaction, statementOf);
  return {
    ...db,
    description: `postgres:${redactUrl(databaseUrl)}`,
    async migrate() {
      await withClient(async (client) => {
        // Session-level lock: a second replica blocks here until the first has migrated, then finds nothing to do.
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await client.query(migrationsTable);
          await client.query('BEGIN');
          try {
            const tx: Db = queryDb(client, (nested) => nested(tx), statementOf);
            await applyPendingMigrations(tx, async (sql) => void (await client.query(sql)));
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
        }
      });
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async sizeBytes() {
      return Number((await pool.query('SELECT pg_database_size(current_database()) AS size')).rows[0].size);
    },
    async reclaimSpace() {
      // Autovacuum makes deleted rows' space reusable; giving it back to the OS takes VACUUM FULL, an operator's call.
    },
    // Idempotent: a second close (a runtime closing what a caller already closed) waits for the first.
    close: () => (closing ??= pool.end()),
  };
}
