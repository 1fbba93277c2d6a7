import { existsSync } from 'node:fs';
import { chmod, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../config.js';
import { retentionSweeper, type SweepResult } from '../ops/retention.js';
import { openStore, type Database } from '../store/index.js';
import { openSqlite, sqliteFile } from '../store/sqlite.js';
import { withConfigOptions, configOf } from './config-options.js';
import { CliError } from './failures.js';

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function reclaim(database: Database, full: boolean): Promise<void> {
  if (database.dialect === 'postgres') {
    say(full ? 'PostgreSQL: --vacuum does nothing here; autovacuum reuses the space (VACUUM FULL gives it back, with a lock).' : 'PostgreSQL: autovacuum reuses the freed space.');
    return;
  }
  await database.reclaimSpace(full ? 'full' : 'incremental');
  say(full ? 'VACUUM: file rewritten; incremental auto_vacuum is on from now.' : 'Freed pages returned to the file system (incremental_vacuum).');
}

/** Every retention rule once, then the space given back; prints a line per rule and a summary. */
async function runMaintenance(config: Config, options: { vacuum?: boolean }): Promise<void> {
  const store = await openStore(config);
  try {
    const before = await store.database.sizeBytes();
    const started = Date.now();
    const report = (result: SweepResult) => say(`${`${result.table} (${result.rule})`.padEnd(44)} ${result.rows} rows`);
    const results = await retentionSweeper({ store, config, onRule: report }).sweep();
    if (!results) {
      process.stderr.write('Another Gatehouse process is sweeping right now (it holds the retention lease); nothing was deleted.\n');
      return;
    }
    await reclaim(store.database, options.vacuum === true);
    const rows = results.reduce((sum, result) => sum + result.rows, 0);
    const after = await store.database.sizeBytes();
    say(`Deleted ${rows} rows in ${Date.now() - started} ms; database ${megabytes(before)} -> ${megabytes(after)}.`);
  } finally {
    await store.database.close();
  }
}

const maintenance = withConfigOptions(
  new Command('maintenance')
    .description('run every retention sweep once against the configured database and exit (safe while servers run; for cron)')
    .option('--vacuum', 'SQLite: rewrite the file (VACUUM) to give all free space back and turn on incremental auto_vacuum for an older database; best with the servers stopped (their writes wait for it)')
    .action(async (options: { vacuum?: boolean }, command: Command) => runMaintenance(configOf(command), options)),
);

/** Quoted for a POSIX shell. */
const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** What to run for PostgreSQL, which Gatehouse does not copy itself; the password is never printed. */
function pgDumpCommand(databaseUrl: string, file: string): { command: string; hadPassword: boolean } {
  const url = new URL(databaseUrl);
  const hadPassword = url.password !== '';
  url.password = '';
  return { command: `pg_dump --format=custom --file=${shellQuote(file)} --dbname=${shellQuote(url.toString())}`, hadPassword };
}

/** Copies through a temporary file beside the target, renamed when complete: a failed backup leaves no half file. */
async function backupSqlite(config: Config, file: string, force: boolean): Promise<void> {
  const source = sqliteFile(config.dataDir);
  if (!existsSync(source)) throw new CliError(`no SQLite database at ${source}; check --data-dir`, 1);
  if (existsSync(file) && !force) throw new CliError(`${file} exists; choose another file or pass --force to overwrite it`);
  if (!existsSync(path.dirname(path.resolve(file)))) throw new CliError(`the directory of ${file} does not exist`);
  const partial = `${file}.partial`;
  const database = openSqlite(config.dataDir, { readOnly: true });
  try {
    await rm(partial, { force: true });
    await database.backup!(partial);
    // The copy holds what the database holds (hashed secrets, sealed tokens): owner-only like the original.
    await chmod(partial, 0o600);
    await rename(partial, file);
    say(`Backed up ${source} (${megabytes(await database.sizeBytes())}) to ${file}.`);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  } finally {
    await database.close();
  }
}

const backup = withConfigOptions(
  new Command('backup')
    .description('SQLite: write an online, consistent copy of the database to <file>; PostgreSQL: print the pg_dump command')
    .argument('<file>', 'where the copy goes')
    .option('--force', 'overwrite <file> if it exists')
    .action(async (file: string, options: { force?: boolean }, command: Command) => {
      const config = configOf(command);
      if (!config.databaseUrl) return backupSqlite(config, file, options.force === true);
      const { command: dump, hadPassword } = pgDumpCommand(config.databaseUrl, file);
      process.stderr.write(`PostgreSQL: Gatehouse copies nothing itself; run pg_dump${hadPassword ? ' (give the password in PGPASSWORD or ~/.pgpass)' : ''}:\n`);
      say(dump);
    }),
);

export function maintenanceCommands(): Command[] {
  return [maintenance, backup];
}
