import type { Database } from './db.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
import { sqlApiKeyStore } from './sql/api-keys.js';
import { sqlLoginFailureStore } from './sql/login-failures.js';
import { sqlMetaStore } from './sql/meta.js';
import { sqlBrowserSessionStore } from './sql/sessions.js';
import { sqlUserStore } from './sql/users.js';
import type { Store } from './types.js';

export type { Database } from './db.js';
export type * from './types.js';

export interface OpenedStore extends Store {
  database: Database;
}

/** The stores for one database; SQLite and PostgreSQL share the SQL, only the driver differs. */
export function storeOn(database: Database): OpenedStore {
  return {
    database,
    meta: sqlMetaStore(database),
    users: sqlUserStore(database),
    sessions: sqlBrowserSessionStore(database),
    apiKeys: sqlApiKeyStore(database),
    loginFailures: sqlLoginFailureStore(database),
  };
}

/** Opens the configured backend and brings its schema up to date. */
export async function openStore(options: { dataDir: string; databaseUrl?: string }): Promise<OpenedStore> {
  const database = options.databaseUrl ? openPostgres(options.databaseUrl) : openSqlite(options.dataDir);
  try {
    await database.migrate();
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
  return storeOn(database);
}
