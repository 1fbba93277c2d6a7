import type { Db } from './db.js';
import { migrations, type Migration } from './migrations/index.js';

export const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

/**
 * Applies pending migrations inside one transaction. The caller holds the backend's lock
 * (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so a second replica waits and then finds nothing to do.
 */
export async function applyPendingMigrations(
  tx: Db,
  execScript: (sql: string) => Promise<void>,
  all: readonly Migration[] = migrations,
): Promise<number[]> {
  const done = new Set((await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
  const newest = Math.max(0, ...done);
  const known = Math.max(0, ...all.map((m) => m.version));
  if (newest > known) {
    throw new Error(`the database schema is at version ${newest}, newer than this Gatehouse knows (${known}); upgrade Gatehouse`);
  }
  const applied: number[] = [];
  for (const migration of all) {
    if (done.has(migration.version)) continue;
    await execScript(migration.sql);
    await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, Date.now()]);
    applied.push(migration.version);
  }
  return applied;
}
