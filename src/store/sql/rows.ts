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
  const keys = Object.keys(record);
  const shape = `${table}\0${keys.join(',')}\0${conflict}`;
  let sql = inserts.get(shape);
  if (sql === undefined) {
    sql = `INSERT INTO ${table} (${keys.map(snake).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})${conflict ? ` ${conflict}` : ''}`;
    // Keys come from our own record types, so the shapes are few; the bound only guards against a mistake.
    if (inserts.size < 1000) inserts.set(shape, sql);
  }
  return { sql, params: Object.values(record) };
}

/** One INSERT of several rows of one table (one round trip); every record has the first one's keys. */
export function insertManySql(table: string, records: readonly object[]): { sql: string; params: unknown[] } {
  const [first] = records;
  if (!first) throw new Error('insertManySql needs at least one record');
  const keys = Object.keys(first);
  // The audit's batches repeat a few sizes of the same two tables: each statement is built once, not per batch.
  const shape = `${table}\0${keys.join(',')}\0*${records.length}`;
  let sql = inserts.get(shape);
  if (sql === undefined) {
    const row = `(${keys.map(() => '?').join(', ')})`;
    sql = `INSERT INTO ${table} (${keys.map(snake).join(', ')}) VALUES ${records.map(() => row).join(', ')}`;
    if (inserts.size < 1000) inserts.set(shape, sql);
  }
  const params: unknown[] = [];
  for (const record of records) for (const key of keys) params.push((record as Record<string, unknown>)[key]);
  return { sql, params };
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
