import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openStore, type OpenedStore } from '../../src/store/index.js';

/** The PostgreSQL these machines run (trust auth, database `test`); CI starts it, tests never skip it. */
export const TEST_DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Backend = 'sqlite' | 'postgres';
export const backends: readonly Backend[] = ['sqlite', 'postgres'];

export function tempDir(prefix = 'gatehouse-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh, empty PostgreSQL schema and a URL whose connections use it, so tests never see each other's rows. */
export async function freshPostgresSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `gh_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** Where a backend's data lives for one test: a temp data dir, plus a fresh schema for PostgreSQL. */
export interface BackendPlace {
  backend: Backend;
  dataDir: string;
  databaseUrl?: string;
  cleanup(): Promise<void>;
}

export async function backendPlace(backend: Backend): Promise<BackendPlace> {
  const temp = tempDir();
  if (backend === 'sqlite') return { backend, dataDir: temp.dir, cleanup: async () => temp.remove() };
  const schema = await freshPostgresSchema();
  return {
    backend,
    dataDir: temp.dir,
    databaseUrl: schema.url,
    async cleanup() {
      await schema.drop();
      temp.remove();
    },
  };
}

/** A migrated store on the given backend; `close` closes it and removes everything it made. */
export async function openTestStore(backend: Backend): Promise<OpenedStore & { close(): Promise<void> }> {
  const place = await backendPlace(backend);
  const store = await openStore(place);
  return {
    ...store,
    async close() {
      await store.database.close();
      await place.cleanup();
    },
  };
}

/** Plain user rows, given as [id, username], for store tests whose records need an owner. */
export async function createTestUsers(store: OpenedStore, users: readonly (readonly [id: string, username: string])[]): Promise<void> {
  for (const [id, username] of users) {
    await store.users.create({ id, username, passwordHash: 'h', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
  }
}
