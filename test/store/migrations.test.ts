import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { migrations } from '../../src/store/migrations/index.js';
import { openStore, type OpenedStore } from '../../src/store/index.js';
import { backendPlace, backends, createTestUsers, tempDir, type BackendPlace } from '../helpers/backends.js';

const execFileAsync = promisify(execFile);

async function appliedVersions(store: OpenedStore): Promise<number[]> {
  const rows = await store.database.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((row) => Number(row.version));
}

const knownVersions = migrations.map((m) => m.version);

for (const backend of backends) {
  describe(`migrations on ${backend}`, () => {
    let place: BackendPlace;
    const opened: OpenedStore[] = [];
    const open = async () => {
      const store = await openStore(place);
      opened.push(store);
      return store;
    };
    beforeEach(async () => {
      place = await backendPlace(backend);
    });
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.database.close();
      await place.cleanup();
    });

    it('records one row per migration on a fresh database', async () => {
      const store = await open();
      assert.deepEqual(await appliedVersions(store), knownVersions);
    });

    it('opening again applies nothing twice and keeps the data', async () => {
      const first = await open();
      await first.meta.putIfAbsent('kept', 'yes');
      await first.database.close();
      opened.length = 0;
      const second = await open();
      assert.deepEqual(await appliedVersions(second), knownVersions);
      assert.equal(await second.meta.get('kept'), 'yes');
    });

    it('a database of the release before 013 (015 applied) takes 013 at start: its API key sessions are then without their key (null: refused at /mcp)', async () => {
      const before = await open();
      await before.database.run('ALTER TABLE mcp_sessions DROP COLUMN api_key_id');
      await before.database.run('DELETE FROM schema_migrations WHERE version = 13');
      await createTestUsers(before, [['usr_old', 'old']]);
      await before.database.run(
        "INSERT INTO mcp_sessions (id, user_id, username, client_id, via, protocol_version, client_capabilities, client_info, initialized, created_at, last_seen_at) VALUES ('s-old', 'usr_old', 'old', NULL, 'api_key', '2025-11-25', '{}', '{}', 1, 1, 1)",
      );
      await before.database.close();
      opened.length = 0;
      const after = await open();
      assert.deepEqual(await appliedVersions(after), knownVersions);
      assert.equal((await after.mcpSessions.find('s-old'))?.apiKeyId, null);
    });

    it('refuses a database whose schema is newer than this code knows, saying to upgrade', async () => {
      const store = await open();
      const newer = Math.max(...knownVersions) + 1;
      await store.database.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [newer, 'from the future', 1]);
      await assert.rejects(open(), (error: Error) => {
        assert.match(error.message, new RegExp(`schema is at version ${newer}, newer than this Gatehouse knows`));
        assert.match(error.message, /upgrade Gatehouse/);
        return true;
      });
    });
  });
}

// One SQLite file is shared between processes (serve and the CLI), not between connections of one process.
it('two processes migrating one fresh SQLite database at the same moment both succeed, and each migration runs once', async () => {
  const temp = tempDir();
  const dataDir = path.join(temp.dir, 'data');
  try {
    const openInChild = () =>
      execFileAsync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/open-store.ts', import.meta.url)), dataDir]);
    const results = await Promise.all([openInChild(), openInChild()]);
    for (const { stdout } of results) assert.deepEqual(JSON.parse(stdout), knownVersions);
    const store = await openStore({ dataDir });
    try {
      assert.deepEqual(await appliedVersions(store), knownVersions);
    } finally {
      await store.database.close();
    }
  } finally {
    temp.remove();
  }
});

it('two stores migrating one fresh PostgreSQL schema at the same moment both succeed, and each migration runs once', async () => {
  const place = await backendPlace('postgres');
  const [a, b] = await Promise.all([openStore(place), openStore(place)]);
  try {
    assert.deepEqual(await appliedVersions(a), knownVersions);
    assert.deepEqual(await appliedVersions(b), knownVersions);
    await a.meta.putIfAbsent('seen-by', 'a');
    assert.equal(await b.meta.get('seen-by'), 'a');
  } finally {
    await a.database.close();
    await b.database.close();
    await place.cleanup();
  }
});
