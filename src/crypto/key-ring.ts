import { hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DecryptionError, open, seal } from './aead.js';
import { keyedHasher, type KeyedHasher } from './keyed-hash.js';

export const MASTER_KEY_FILE = 'secret.key';

/** Why the key ring could not be set up, phrased as what the operator should do. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

/** Keys derived from the one master key; each purpose gets its own so no key is used for two things. */
export interface KeyRing {
  /** AES-256-GCM key for secrets at rest (upstream tokens, PKCE verifiers). */
  encryptionKey: Buffer;
  /** HMAC pepper for stored token and secret hashes. */
  tokenHasher: KeyedHasher;
  /** Signs cookies. */
  cookieKey: Buffer;
  /** HMAC key of a refresh's secrets derived from the presented token (oauth/refresh-replay.ts). */
  refreshReplayKey: Buffer;
  /** Short, non-secret fingerprint of the master key, for logs and `doctor`. */
  fingerprint: string;
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `gatehouse ${purpose}`, 32));
}

export function deriveKeyRing(master: Buffer): KeyRing {
  return {
    encryptionKey: derive(master, 'aead v1'),
    tokenHasher: keyedHasher([{ version: 1, key: derive(master, 'token pepper v1') }]),
    cookieKey: derive(master, 'cookie signing v1'),
    refreshReplayKey: derive(master, 'refresh replay v1'),
    fingerprint: derive(master, 'fingerprint').subarray(0, 6).toString('hex'),
  };
}

function decodeMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64url');
  if (key.length !== 32) {
    throw new KeyError(`${source} must hold 32 random bytes as base64url or 64 hex digits; generate one with: openssl rand -hex 32`);
  }
  return key;
}

/**
 * The master key: GATEHOUSE_SECRET_KEY when set, else `<dataDir>/secret.key`, generated (0600) on first start.
 */
export function loadMasterKey(options: { secretKey?: string; dataDir: string; create: boolean }): { key: Buffer; source: string } {
  if (options.secretKey) return { key: decodeMasterKey(options.secretKey, 'GATEHOUSE_SECRET_KEY'), source: 'GATEHOUSE_SECRET_KEY' };
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new KeyError(`${file} is readable by other users; run: chmod 600 ${file}`);
    }
    return { key: decodeMasterKey(readFileSync(file, 'utf8'), file), source: file };
  }
  if (!options.create) throw new KeyError(`no master key: set GATEHOUSE_SECRET_KEY or start Gatehouse once to create ${file}`);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  // Written whole to a private temp file, then linked into place: link() fails if another process got there
  // first, and its file is then complete, so both processes end up with the same key.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${key.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: decodeMasterKey(readFileSync(file, 'utf8'), file), source: file };
  } finally {
    unlinkSync(temp);
  }
  return { key, source: file };
}

const KEY_CHECK_PLAINTEXT = 'gatehouse key check';
export const KEY_CHECK_META = 'key_check';

/**
 * Proves that the master key is the one this database was written with. The first start stores a sealed
 * check value; a later start with another key fails to open it and stops with a clear message.
 */
export async function verifyKeyMatchesDatabase(
  ring: KeyRing,
  meta: { putIfAbsent(key: string, value: string): Promise<string> },
  keySource: string,
): Promise<void> {
  const stored = await meta.putIfAbsent(KEY_CHECK_META, seal(ring.encryptionKey, KEY_CHECK_PLAINTEXT, KEY_CHECK_META));
  try {
    if (open(ring.encryptionKey, stored, KEY_CHECK_META) === KEY_CHECK_PLAINTEXT) return;
  } catch (error) {
    if (!(error instanceof DecryptionError)) throw error;
  }
  throw new KeyError(
    `the master key from ${keySource} (fingerprint ${ring.fingerprint}) is not the key this database was created with. ` +
      'Restore the original GATEHOUSE_SECRET_KEY or secret.key; without it, stored secrets cannot be read.',
  );
}
