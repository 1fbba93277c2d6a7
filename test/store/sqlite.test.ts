import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import type { Db } from '../../src/store/db.js';
import { GroupCommit, openSqlite, sqliteFile } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/backends.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

it('a new SQLite database lives in a 0700 data directory, its files 0600, in WAL mode, with no temporary files', async () => {
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
    // 2 is MEMORY: the group commit's savepoint journals (and temporary tables) never become files.
    assert.equal((await store.database.get<{ temp_store: number }>('PRAGMA temp_store'))?.temp_store, 2);
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

/** A fresh SQLite store in a temp dir, closed and removed after `use`. */
async function withStore(use: (store: Awaited<ReturnType<typeof openStore>>) => Promise<void>): Promise<void> {
  const temp = tempDir();
  const store = await openStore({ dataDir: temp.dir });
  try {
    await use(store);
  } finally {
    await store.database.close();
    temp.remove();
  }
}

it('concurrent transactions commit together; a failing one rolls back only its own writes', async () => {
  await withStore(async (store) => {
    const insert = 'INSERT INTO meta (key, value) VALUES (?, ?)';
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((key) =>
        store.database.transaction(async (tx) => {
          await tx.run(insert, [key, '1']);
          if (key === 'b') throw new Error('b fails');
          // A later transaction of the same batch sees the earlier ones' writes, never the failed one's.
          return (await tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM meta WHERE key IN ('a', 'b', 'c', 'd')"))?.n;
        }),
      ),
    );
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.deepEqual(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined)), [1, undefined, 2, 3]);
    assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map((key) => store.meta.get(key))), ['1', undefined, '1', '1']);
  });
});

it('a statement issued while transactions are open waits for their commit, then sees all of them', async () => {
  await withStore(async (store) => {
    const insert = 'INSERT INTO meta (key, value) VALUES (?, ?)';
    const first = store.database.transaction((tx) => tx.run(insert, ['x', '1']));
    const second = store.database.transaction((tx) => tx.run(insert, ['y', '1']));
    const outside = store.database.get<{ n: number }>("SELECT COUNT(*) AS n FROM meta WHERE key IN ('x', 'y')");
    assert.equal((await outside)?.n, 2);
    await Promise.all([first, second]);
  });
});

it('reads waiting for a batch all see its commit, a failing one fails alone, and the next batch commits after them', async () => {
  await withStore(async (store) => {
    const insert = 'INSERT INTO meta (key, value) VALUES (?, ?)';
    const batch = store.database.transaction((tx) => tx.run(insert, ['r', '1']));
    const count = "SELECT COUNT(*) AS n FROM meta WHERE key IN ('r', 's')";
    const reads = [store.database.get<{ n: number }>(count), store.database.get('SELECT nothing FROM nowhere'), store.database.all<{ n: number }>(count)];
    const outcomes = await Promise.allSettled(reads);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined)), [{ n: 1 }, undefined, [{ n: 1 }]]);
    await batch;
    // Nothing the reads did holds the connection: a later batch begins and commits.
    await store.database.transaction((tx) => tx.run(insert, ['s', '1']));
    assert.equal((await store.database.get<{ n: number }>(count))?.n, 2);
  });
});

it('writes issued on their own in one turn share one commit; one that fails (a duplicate key) fails alone', async () => {
  const temp = tempDir();
  const store = await openStore({ dataDir: temp.dir });
  const walSize = () => statSync(`${sqliteFile(temp.dir)}-wal`).size;
  const insert = 'INSERT INTO meta (key, value) VALUES (?, ?)';
  // A reader holding a snapshot keeps the WAL from restarting at its start (after the checkpointer's checkpoint),
  // so the file's growth counts the frames appended.
  const reader = new BetterSqlite3(sqliteFile(temp.dir), { readonly: true });
  try {
    await store.database.run(insert, ['dup', '0']);
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM meta').get();
    let before = walSize();
    for (const key of ['s1', 's2', 's3']) await store.database.run(insert, [key, '1']);
    const separately = walSize() - before;

    before = walSize();
    const outcomes = await Promise.allSettled([
      store.database.run(insert, ['w1', '1']),
      store.database.run(insert, ['dup', '1']),
      store.database.run(insert, ['w2', '1']),
      store.database.run(insert, ['w3', '1']),
    ]);
    const together = walSize() - before;

    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.deepEqual(await Promise.all(['w1', 'dup', 'w2', 'w3'].map((key) => store.meta.get(key))), ['1', '0', '1', '1']);
    // Each COMMIT appends every page it changed to the WAL: three commits append the same pages three times, one once.
    assert.ok(together > 0 && together * 2 <= separately, `WAL growth: ${together} bytes together, ${separately} bytes separately`);
  } finally {
    reader.close();
    await store.database.close();
    temp.remove();
  }
});

it('writes still queued when the database closes are committed first', async () => {
  const temp = tempDir();
  const store = await openStore({ dataDir: temp.dir });
  const writes = ['q1', 'q2', 'q3'].map((key) => store.database.run('INSERT INTO meta (key, value) VALUES (?, ?)', [key, '1']));
  await store.database.close();
  assert.deepEqual((await Promise.all(writes)).map((result) => result.changes), [1, 1, 1]);
  const reopened = await openStore({ dataDir: temp.dir });
  try {
    assert.deepEqual(await Promise.all(['q1', 'q2', 'q3'].map((key) => reopened.meta.get(key))), ['1', '1', '1']);
  } finally {
    await reopened.database.close();
    temp.remove();
  }
});

it('committed writes reach the database file by the checkpointer, while the writer checkpoints only far behind', async () => {
  const temp = tempDir();
  const store = await openStore({ dataDir: temp.dir });
  const file = sqliteFile(temp.dir);
  try {
    const before = statSync(file).size;
    // ~1 MB in 250 commits: 250+ WAL pages, far below the writer's backstop of 10,000.
    for (let i = 0; i < 250; i++) await store.database.run('INSERT INTO meta (key, value) VALUES (?, ?)', [`k${i}`, 'x'.repeat(4000)]);
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 1_000_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(statSync(file).size >= before + 1_000_000, `the database file grew from ${before} to ${statSync(file).size} bytes`);
    assert.equal((await store.database.get<{ wal_autocheckpoint: number }>('PRAGMA wal_autocheckpoint'))?.wal_autocheckpoint, 10_000);
  } finally {
    await store.database.close();
  }
  assert.equal(existsSync(`${file}-wal`), false, 'closing, the writer (the last connection) checkpoints and removes the WAL');
  temp.remove();
});

it('a checkpoint a reader held back is finished after the reader ends, with nothing committed since', async () => {
  const temp = tempDir();
  const store = await openStore({ dataDir: temp.dir });
  const file = sqliteFile(temp.dir);
  const reader = new BetterSqlite3(file, { readonly: true });
  try {
    const before = statSync(file).size;
    // The reader's snapshot predates every write below: the checkpointer's rounds can copy none of their frames.
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM meta').get();
    for (let i = 0; i < 250; i++) await store.database.run('INSERT INTO meta (key, value) VALUES (?, ?)', [`k${i}`, 'x'.repeat(4000)]);
    // Several rounds of the checkpointer with the reader in place, and no commit after them.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    reader.exec('COMMIT');
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 1_000_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(statSync(file).size >= before + 1_000_000, `the database file grew from ${before} to ${statSync(file).size} bytes`);
  } finally {
    reader.close();
    await store.database.close();
    temp.remove();
  }
});

it('a hold waits for the open batch to commit; what is asked for meanwhile waits for the release, and is committed', async () => {
  const temp = tempDir();
  const connection = new BetterSqlite3(path.join(temp.dir, 'hold.db'));
  connection.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  const group = new GroupCommit(connection, {} as Db);
  const insert = (key: string) => connection.prepare('INSERT INTO t (k) VALUES (?)').run(key);
  const keys = () => (connection.prepare('SELECT k FROM t ORDER BY k').pluck().all() as string[]).join(',');
  try {
    let finishOpen!: () => void;
    const open = group.transaction(async () => {
      insert('a');
      await new Promise<void>((resolve) => (finishOpen = resolve));
    });
    let quiet = false;
    const held = group.hold().then(() => (quiet = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(quiet, false, 'the open batch has not committed');
    finishOpen();
    await Promise.all([open, held]);
    assert.equal(connection.inTransaction, false);

    let ran = false;
    const later = group.transaction(async () => {
      ran = true;
      insert('b');
    });
    const write = group.write(() => insert('c'));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ran, false, 'no batch begins while held');
    assert.equal(keys(), 'a', 'no write runs while held');
    group.release();
    await Promise.all([later, write]);
    assert.equal(keys(), 'a,b,c');
  } finally {
    connection.close();
    temp.remove();
  }
});

it('under a steady write load the checkpointer restarts the WAL, holding the writer for the last frames, long before the backstop', async () => {
  const temp = tempDir();
  const database = openSqlite(temp.dir, { restart: { restartPages: 300, tailPages: 64 } });
  const wal = `${sqliteFile(temp.dir)}-wal`;
  /** The WAL header's salts change each time the WAL begins again at its start. */
  const salts = () => {
    const descriptor = openSync(wal, 'r');
    try {
      const header = Buffer.alloc(8);
      readSync(descriptor, header, 0, 8, 16);
      return header.toString('hex');
    } finally {
      closeSync(descriptor);
    }
  };
  try {
    await database.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const seen = new Set<string>();
    let commits = 0;
    // A commit about every millisecond, each while the last checkpoint still runs: the WAL never restarts by itself
    // (it would need a checkpoint that copied the last frame before the next transaction began).
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      await Promise.all(Array.from({ length: 8 }, () => database.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(500)]))));
      commits += 1;
      seen.add(salts());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.ok(seen.size >= 3, `the WAL restarted ${seen.size - 1} times in ${commits} commits`);
    // The writer's backstop is 10,000 frames; restarts past 300 keep the WAL far below it.
    assert.ok(statSync(wal).size < 3_000 * 4_120, `the WAL file is ${statSync(wal).size} bytes`);
  } finally {
    await database.close();
    temp.remove();
  }
});

it('a store left open does not keep the process alive (its checkpointer thread is not waited for)', async () => {
  const temp = tempDir();
  const script = `import { openSqlite } from ${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).href)};
const database = openSqlite(${JSON.stringify(temp.dir)});
await database.run('CREATE TABLE t (x)');`;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(killer);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'the process ended by itself');
  } finally {
    temp.remove();
  }
});
