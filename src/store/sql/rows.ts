import type { Db } from '../db.js';

// Column names are few and fixed (the schema's): each is converted once, not on every row read.
const camelNames = new Map<string, string>();
const camel = (key: string) => {
  let name = camelNames.get(key);
  if (name === undefined) {
    name = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    camelNames.set(key, name);
  }
  return name;
};

/** Column-name mapping shared by the SQL stores: snake_case rows in, camelCase records out. */
export function camelRow<T>(row: Record<string, unknown> | undefined): T | undefined {
  if (!row) return undefined;
  const out: Record<string, unknown> = {};
  for (const key in row) out[camel(key)] = row[key];
  return out as T;
}

export function camelRows<T>(rows: Record<string, unknown>[]): T[] {
  return rows.map((row) => camelRow<T>(row)!);
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Insert statements by table, keys and conflict clause: the same few shapes are built on every write. */
const inserts = new Map<string, string>();

/** INSERT of a camelCase record into the snake_case columns of the same names. */
export function insertSql(table: string, record: object, conflict = ''): { sql: string; params: unknown[] } {
  return { sql: cachedInsert(table, Object.keys(record), 1, conflict), params: Object.values(record) };
}

/** The INSERT of `rows` rows of `keys` into `table`, built once per shape. */
function cachedInsert(table: string, keys: readonly string[], rows: number, conflict = ''): string {
  const shape = `${table}\0${keys.join(',')}\0${rows}\0${conflict}`;
  let sql = inserts.get(shape);
  if (sql === undefined) {
    const row = `(${keys.map(() => '?').join(', ')})`;
    sql = `INSERT INTO ${table} (${keys.map(snake).join(', ')}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}${conflict ? ` ${conflict}` : ''}`;
    // Keys come from our own record types and batches come in four sizes, so the shapes are few; the bound only
    // guards against a mistake.
    if (inserts.size < 1000) inserts.set(shape, sql);
  }
  return sql;
}

/**
 * Rows per statement when a batch is inserted: a batch is cut into these sizes, largest first, so each table has
 * four INSERT texts however its batch sizes vary. A text per batch size would be prepared (and kept) once per size:
 * the audit's batches come in every size up to the batch limit, each a statement of hundreds of placeholders.
 */
const INSERT_CHUNK_ROWS = [64, 16, 4, 1] as const;

/** The multi-row INSERTs of `records` (of one table, every record with the first one's keys), in chunks of fixed sizes. */
export function insertManySql(table: string, records: readonly object[]): { sql: string; params: unknown[] }[] {
  const [first] = records;
  if (!first) throw new Error('insertManySql needs at least one record');
  const keys = Object.keys(first);
  const statements: { sql: string; params: unknown[] }[] = [];
  let at = 0;
  for (const rows of INSERT_CHUNK_ROWS) {
    for (; records.length - at >= rows; at += rows) {
      // Sized once and filled in place: a chunk of 64 audit rows has 704 values.
      const params = new Array<unknown>(rows * keys.length);
      let next = 0;
      for (let row = at; row < at + rows; row++) {
        const record = records[row] as Record<string, unknown>;
        for (const key of keys) params[next++] = record[key];
      }
      statements.push({ sql: cachedInsert(table, keys, rows), params });
    }
  }
  return statements;
}

/** Inserts `records` into `table` all or none: one statement, or the chunks of one transaction. */
export async function insertMany(db: Db, table: string, records: readonly object[]): Promise<void> {
  if (records.length === 0) return;
  const statements = insertManySql(table, records);
  if (statements.length === 1) {
    await db.run(statements[0]!.sql, statements[0]!.params);
    return;
  }
  await db.transaction(async (tx) => {
    for (const { sql, params } of statements) await tx.run(sql, params);
  });
}

/** One optional condition of a WHERE clause: SQL with `?` and its values; falsy when it does not apply. */
export type Condition = readonly [sql: string, values: readonly unknown[]] | false | undefined;

/** `column = ?` when a filter value is given, nothing otherwise. */
export function equals(column: string, value: unknown): Condition {
  return value === undefined ? undefined : [`${column} = ?`, [value]];
}

/** The WHERE clause (or nothing) of the conditions that apply, with their parameters in order. */
export function whereClause(conditions: readonly Condition[]): { clause: string; params: unknown[] } {
  const kept = conditions.filter((condition): condition is Exclude<Condition, false | undefined> => Boolean(condition));
  return {
    clause: kept.length > 0 ? `WHERE ${kept.map(([sql]) => sql).join(' AND ')}` : '',
    params: kept.flatMap(([, values]) => values),
  };
}
