import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/backends.js';

async function synchronousPragma(sqliteSync?: 'normal' | 'full'): Promise<number> {
  const { dir, remove } = tempDir();
  const store = await openStore({ dataDir: dir, sqliteSync });
  try {
    const row = await store.database.get<{ synchronous: number }>('PRAGMA synchronous');
    return Number(row!.synchronous);
  } finally {
    await store.database.close();
    remove();
  }
}

it('SQLite syncs NORMAL by default (durable across a process crash in WAL mode) and FULL on request', async () => {
  assert.equal(await synchronousPragma(), 1);
  assert.equal(await synchronousPragma('full'), 2);
  assert.equal(loadConfig({}, { GATEHOUSE_SQLITE_SYNC: 'full' }).sqliteSync, 'full');
  assert.throws(() => loadConfig({}, { GATEHOUSE_SQLITE_SYNC: 'sometimes' }), /GATEHOUSE_SQLITE_SYNC/);
});
