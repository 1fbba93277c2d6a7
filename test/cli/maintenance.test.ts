import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openStore, type OpenedStore } from '../../src/store/index.js';
import { sqliteFile } from '../../src/store/sqlite.js';
import { backendPlace, tempDir, type BackendPlace } from '../helpers/backends.js';
import { runCli } from './run-cli.js';

/** Rows any sweep deletes: a rate window from long ago and a revoked browser session. */
async function seedSweepable(store: OpenedStore): Promise<void> {
  await store.rateWindows.hit('registration:old', 0);
  await store.users.create({ id: 'usr_1', username: 'u1', passwordHash: 'h', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
  await store.sessions.create({ tokenHash: 'bs_1', userId: 'usr_1', createdAt: 1, lastSeenAt: 1, absoluteExpiresAt: 2, revokedAt: 1, userAgent: null });
}

async function withStore<T>(place: Pick<BackendPlace, 'dataDir' | 'databaseUrl'>, work: (store: OpenedStore) => Promise<T>): Promise<T> {
  const store = await openStore(place);
  try {
    return await work(store);
  } finally {
    await store.database.close();
  }
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`gatehouse maintenance on ${backend}`, () => {
    let place: BackendPlace;
    let args: string[];
    before(async () => {
      place = await backendPlace(backend);
      args = ['--data-dir', place.dataDir, ...(place.databaseUrl ? ['--database-url', place.databaseUrl] : [])];
    });
    after(() => place.cleanup());

    it('runs every sweep once, prints a line per rule and a summary, and exits 0', async () => {
      await withStore(place, seedSweepable);
      const result = await runCli(['maintenance', ...args]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^rate_windows \(past\)\s+1 rows$/m);
      assert.match(result.stdout, /^browser_sessions \(dead\)\s+1 rows$/m);
      assert.match(result.stdout, /^refresh_tokens \(rotated\)\s+0 rows$/m);
      assert.match(result.stdout, /Deleted 2 rows in \d+ ms; database [\d.]+ MB -> [\d.]+ MB\./);
      assert.equal(await withStore(place, (store) => store.database.get('SELECT * FROM rate_windows')), undefined);
    });

    it('deletes nothing and says so while another process holds the retention lease', async () => {
      await withStore(place, async (store) => {
        await store.rateWindows.hit('registration:old', 0);
        await store.leases.tryAcquire('retention', 'a-running-server', Date.now(), Date.now() + 60_000);
      });
      const result = await runCli(['maintenance', ...args]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Another Gatehouse process is sweeping right now/);
      assert.ok(await withStore(place, (store) => store.database.get('SELECT * FROM rate_windows')), 'nothing was deleted');
    });
  });
}

describe('gatehouse maintenance --vacuum on SQLite', () => {
  const temp = tempDir();
  after(() => temp.remove());

  it('turns an older database (created without auto_vacuum) into an incremental one', async () => {
    await withStore({ dataDir: temp.dir }, async () => undefined);
    const legacy = new BetterSqlite3(sqliteFile(temp.dir));
    legacy.pragma('auto_vacuum = NONE');
    legacy.exec('VACUUM');
    assert.equal(legacy.pragma('auto_vacuum', { simple: true }), 0);
    legacy.close();

    const result = await runCli(['maintenance', '--vacuum', '--data-dir', temp.dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /VACUUM: file rewritten/);
    const converted = new BetterSqlite3(sqliteFile(temp.dir), { readonly: true });
    assert.equal(converted.pragma('auto_vacuum', { simple: true }), 2, 'INCREMENTAL');
    converted.close();
  });
});

describe('gatehouse backup', () => {
  const temp = tempDir();
  const dataDir = path.join(temp.dir, 'data');
  after(() => temp.remove());

  it('copies the SQLite database to the file, owner-only, with every row', async () => {
    await withStore({ dataDir }, seedSweepable);
    const file = path.join(temp.dir, 'copy.db');
    const result = await runCli(['backup', file, '--data-dir', dataDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Backed up .*gatehouse\.db \([\d.]+ MB\) to .*copy\.db\.$/m);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const copy = new BetterSqlite3(file, { readonly: true });
    assert.deepEqual(copy.prepare('SELECT username FROM users').all(), [{ username: 'u1' }]);
    copy.close();
    assert.equal(existsSync(`${file}.partial`), false);
  });

  it('refuses to overwrite an existing file unless --force is given', async () => {
    const file = path.join(temp.dir, 'taken.db');
    writeFileSync(file, 'something precious');
    const refused = await runCli(['backup', file, '--data-dir', dataDir]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, `gatehouse: ${file} exists; choose another file or pass --force to overwrite it\n`);
    const forced = await runCli(['backup', file, '--force', '--data-dir', dataDir]);
    assert.equal(forced.code, 0, forced.stderr);
    const copy = new BetterSqlite3(file, { readonly: true });
    assert.deepEqual(copy.prepare('SELECT username FROM users').all(), [{ username: 'u1' }], 'the file now holds the copy');
    copy.close();
  });

  it('says plainly when there is no database to copy or no directory to write to', async () => {
    const empty = path.join(temp.dir, 'empty');
    const missing = await runCli(['backup', path.join(temp.dir, 'x.db'), '--data-dir', empty]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^gatehouse: no SQLite database at .*gatehouse\.db; check --data-dir\n$/);
    const nowhere = await runCli(['backup', path.join(temp.dir, 'no-such-dir', 'x.db'), '--data-dir', dataDir]);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /the directory of .*x\.db does not exist/);
  });

  it('for PostgreSQL prints the pg_dump command, without the password', async () => {
    const result = await runCli(['backup', 'gatehouse.dump', '--database-url', "postgres://gate:s3cret@db.internal:5432/gatehouse"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "pg_dump --format=custom --file='gatehouse.dump' --dbname='postgres://gate@db.internal:5432/gatehouse'\n");
    assert.match(result.stderr, /PGPASSWORD/);
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret/);
  });
});
