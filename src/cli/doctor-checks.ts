import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Config } from '../config.js';
import { deriveKeyRing, KEY_CHECK_META, KeyError, loadMasterKey, MASTER_KEY_FILE, verifyKeyMatchesDatabase } from '../crypto/key-ring.js';
import { storeOn, type Database } from '../store/index.js';
import { migrations } from '../store/migrations/index.js';
import { openPostgres } from '../store/postgres.js';
import { openSqlite, sqliteFile } from '../store/sqlite.js';
import { openSecrets, settingsOf, type UpstreamSecrets } from '../upstream/settings.js';
import type { UpstreamToProbe } from './doctor-upstreams.js';

export type CheckStatus = 'ok' | 'warn' | 'FAIL';

export interface CheckResult {
  status: CheckStatus;
  name: string;
  detail: string;
  fix?: string;
}

const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
const warn = (name: string, detail: string, fix?: string): CheckResult => ({ status: 'warn', name, detail, fix });
const fail = (name: string, detail: string, fix?: string): CheckResult => ({ status: 'FAIL', name, detail, fix });

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Owner-only: no bit for group or others. */
function checkOwnerOnly(name: string, file: string, wanted: '700' | '600'): CheckResult {
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) return fail(name, `${file} has mode ${octal(mode)}, readable by other users`, `chmod ${wanted} ${file}`);
  return ok(name, `${file} (mode ${octal(mode)})`);
}

export function checkDataDir(config: Config): CheckResult {
  const needed = !config.databaseUrl || !config.secretKey;
  if (!existsSync(config.dataDir)) {
    if (!needed) return ok('data directory', 'not used (PostgreSQL and GATEHOUSE_SECRET_KEY)');
    return warn('data directory', `${config.dataDir} does not exist yet`, 'gatehouse serve creates it on first start; check --data-dir if it should exist');
  }
  return checkOwnerOnly('data directory', config.dataDir, '700');
}

export type MasterKey = { key: Buffer; source: string };

export function checkMasterKey(config: Config): { result: CheckResult; master?: MasterKey } {
  const file = path.join(config.dataDir, MASTER_KEY_FILE);
  if (!config.secretKey && !existsSync(file)) {
    return { result: warn('master key', `${file} does not exist yet`, 'gatehouse serve generates it on first start, or set GATEHOUSE_SECRET_KEY') };
  }
  try {
    // create: false, so doctor never writes a key; loadMasterKey refuses a key file others can read.
    const master = loadMasterKey({ secretKey: config.secretKey, dataDir: config.dataDir, create: false });
    return { result: ok('master key', `from ${master.source}${master.source === file ? ' (mode 0600)' : ''}`), master };
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    return { result: fail('master key', error.message) };
  }
}

export function checkSqliteFile(config: Config): CheckResult | undefined {
  if (config.databaseUrl) return undefined;
  const file = sqliteFile(config.dataDir);
  if (!existsSync(file)) return warn('database file', `${file} does not exist yet`, 'gatehouse serve creates it on first start');
  return checkOwnerOnly('database file', file, '600');
}

/** Opens the database without creating, migrating or re-permissioning anything. */
export function openForInspection(config: Config): Database | undefined {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { max: 1 });
  return existsSync(sqliteFile(config.dataDir)) ? openSqlite(config.dataDir, { readOnly: true }) : undefined;
}

async function schemaVersion(database: Database): Promise<number> {
  try {
    const row = await database.get<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
    return Number(row?.version ?? 0);
  } catch {
    // Reachable (ping passed) but no migrations table: nothing was migrated yet.
    return 0;
  }
}

export async function checkDatabase(database: Database): Promise<{ result: CheckResult; version: number }> {
  const name = 'database';
  try {
    await database.ping();
  } catch (error) {
    const reason = (error as Error).message || (error as AggregateError).errors?.[0]?.message || 'unreachable';
    return { result: fail(name, `${database.description} is unreachable (${reason.split('\n')[0]})`, 'check --database-url and that the server runs'), version: 0 };
  }
  const version = await schemaVersion(database);
  const known = Math.max(...migrations.map((m) => m.version));
  const where = `${database.description} reachable`;
  if (version > known) {
    return { result: fail(name, `${where}, schema version ${version} is newer than this Gatehouse knows (${known})`, 'upgrade Gatehouse'), version };
  }
  if (version === 0) return { result: warn(name, `${where}, no schema yet`, 'gatehouse serve creates it on first start'), version };
  if (version < known) {
    return { result: warn(name, `${where}, schema version ${version}, ${known - version} migration(s) pending`, 'gatehouse serve applies them at start'), version };
  }
  return { result: ok(name, `${where}, schema version ${version} (current)`), version };
}

export async function checkKeyMatchesDatabase(database: Database, master: MasterKey): Promise<CheckResult> {
  const name = 'key matches database';
  const meta = storeOn(database).meta;
  if ((await meta.get(KEY_CHECK_META)) === undefined) return ok(name, 'no check value stored yet; the next start stores one');
  const ring = deriveKeyRing(master.key);
  try {
    // Read-only stand-in for putIfAbsent: the stored check value exists, so nothing would be written anyway.
    await verifyKeyMatchesDatabase(ring, { putIfAbsent: async (key, value) => (await meta.get(key)) ?? value }, master.source);
    return ok(name, `fingerprint ${ring.fingerprint}`);
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    return fail(name, error.message);
  }
}

/**
 * Upstreams created through the API (the config file's are probed from the file), with their secrets when the
 * master key opens them; without it they are probed bare and may be refused.
 */
export async function storedApiUpstreams(database: Database, master: MasterKey | undefined): Promise<UpstreamToProbe[]> {
  const encryptionKey = master ? deriveKeyRing(master.key).encryptionKey : undefined;
  const records = (await storeOn(database).upstreams.list()).filter((record) => record.source !== 'config');
  return records.map((record) => {
    let secrets: UpstreamSecrets = {};
    try {
      if (encryptionKey) secrets = openSecrets(encryptionKey, record.id, record.sealedSecrets);
    } catch {
      // A key that does not match is reported by the key check; probe without the secrets.
    }
    return { settings: settingsOf(record), secrets, origin: 'database' };
  });
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname) || hostname.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** `given` is the raw value before loadConfig normalised it, to tell the operator their setting has a slash. */
export function checkIssuer(config: Config, given: string | undefined): CheckResult {
  const name = 'issuer URL';
  const url = new URL(config.publicUrl);
  if (given !== undefined && /\/\s*$/.test(given)) {
    return warn(name, `${given.trim()} ends with a slash; used as ${config.publicUrl}`, 'set --public-url without the trailing slash so every issuer string matches');
  }
  if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
    return warn(name, `${config.publicUrl} is plain http on a non-loopback host`, 'serve it over TLS and set --public-url https://…');
  }
  return ok(name, config.publicUrl);
}

function portIsFree(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

async function answersHealth(host: string, port: number): Promise<boolean> {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  try {
    const response = await fetch(`http://${reachable}:${port}/health`, { signal: AbortSignal.timeout(3000) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function checkPort(config: Config): Promise<CheckResult> {
  const name = 'listen address';
  const where = `${config.host}:${config.port}`;
  if (config.port === 0) return ok(name, `${config.host}, port 0: the system picks a free port at start`);
  const error = await portIsFree(config.host, config.port);
  if (!error) return ok(name, `${where} is free`);
  if (error.code === 'EADDRINUSE' && (await answersHealth(config.host, config.port))) {
    return ok(name, `${where} is served by a running gateway (/health answers)`);
  }
  if (error.code === 'EADDRINUSE') return fail(name, `${where} is in use by another program`, 'stop it or choose another --port');
  return fail(name, `cannot listen on ${where} (${error.code ?? error.message})`, 'choose another --host or --port');
}
