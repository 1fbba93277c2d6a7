import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { sqliteFile } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/backends.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

it('a new SQLite database lives in a 0700 data directory, its files 0600, in WAL mode', async () => {
  const temp = tempDir();
  const dataDir = path.join(temp.dir, 'data');
  const store = await openStore({ dataDir });
  try {
    await store.meta.putIfAbsent('written', 'so the WAL file exists');
    assert.equal(modeOf(dataDir), 0o700);
    assert.equal(modeOf(sqliteFile(dataDir)), 0o600);
    for (const companion of ['-wal', '-shm']) {
      const file = `${sqliteFile(dataDir)}${companion}`;
      if (existsSync(file)) assert.equal(modeOf(file) & 0o077, 0, `${companion} is owner-only`);
    }
    const row = await store.database.get<{ journal_mode: string }>('PRAGMA journal_mode');
    assert.equal(row?.journal_mode, 'wal');
  } finally {
    await store.database.close();
    temp.remove();
  }
});

it('an existing data directory open to others is narrowed to 0700', async () => {
  const temp = tempDir();
  const dataDir = path.join(temp.dir, 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  const store = await openStore({ dataDir });
  try {
    assert.equal(modeOf(dataDir), 0o700);
  } finally {
    await store.database.close();
    temp.remove();
  }
});
