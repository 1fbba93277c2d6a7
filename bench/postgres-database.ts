import pg from 'pg';

/**
 * A PostgreSQL database of the benchmark's own: created before the PostgreSQL runs and dropped after them, so that
 * a benchmark beside SQLite needs only a server (127.0.0.1:5432, user postgres, as CI and these machines run it).
 * `BENCH_POSTGRES_URL` names another server (its database part is where CREATE DATABASE is issued);
 * `BENCH_POSTGRES=off` skips the PostgreSQL runs.
 */
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const postgresRunsEnabled = process.env.BENCH_POSTGRES !== 'off';

export interface BenchDatabase {
  /** The connection URL Gatehouse is started with (`--database-url`). */
  url: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `gatehouse_bench_${process.pid}`;
  await asAdmin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name}`);
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // WITH (FORCE): a server that did not stop cleanly may still hold connections.
    drop: () => asAdmin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/** `rate` of PostgreSQL as a share of SQLite's, as the tables print it. */
export function shareOf(postgres: number, sqlite: number): string {
  return `${((postgres / sqlite) * 100).toFixed(1)}%`;
}
