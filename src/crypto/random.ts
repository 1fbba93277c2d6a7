import { randomBytes } from 'node:crypto';

/** Typed token prefixes: a leaked token says what it is, and secret scanners can match it. */
export const tokenPrefixes = {
  apiKey: 'gth_ak_',
  browserSession: 'gth_bs_',
  authorizationCode: 'gth_ac_',
  refreshToken: 'gth_rt_',
  clientSecret: 'gth_cs_',
  registrationAccessToken: 'gth_rat_',
  initialAccessToken: 'gth_iat_',
  flowSecret: 'gth_fs_',
  csrfToken: 'gth_csrf_',
  ssoSignIn: 'gth_sso_',
} as const;

export type TokenKind = keyof typeof tokenPrefixes;

/**
 * Cryptographically random bytes drawn from OpenSSL a block at a time, as Node does for randomUUID: a token
 * endpoint answer needs three small draws (token, jti, nonce), and the per-call cost of randomBytes showed as
 * ~5 % of it. Each byte is handed out once, and a used block is dropped, never refilled in place, so a slice
 * already handed out never changes. Process-wide on purpose: it is only a cache of the CSPRNG's output.
 */
const RANDOM_BLOCK_BYTES = 4096;
let randomBlock = Buffer.alloc(0);
let randomOffset = 0;

/** Where the next `size` bytes (at most a block) start in `randomBlock`, drawing a new block when this one is short. */
function take(size: number): number {
  if (randomOffset + size > randomBlock.length) {
    randomBlock = randomBytes(RANDOM_BLOCK_BYTES);
    randomOffset = 0;
  }
  const start = randomOffset;
  randomOffset += size;
  return start;
}

export function randomSlice(size: number): Buffer {
  if (size > RANDOM_BLOCK_BYTES) return randomBytes(size);
  const start = take(size);
  return randomBlock.subarray(start, start + size);
}

/**
 * `size` random bytes as base64url, encoded straight from the block: no Buffer object per draw, as a slice's
 * `toString` would make (ids and tokens are drawn on every call and every grant).
 */
function randomText(size: number): string {
  if (size > RANDOM_BLOCK_BYTES) return randomBytes(size).toString('base64url');
  const start = take(size);
  return randomBlock.toString('base64url', start, start + size);
}

/** Digits of a time (ms) in hex: enough until the year 2527; the same width for every time, so they sort as text. */
const TIME_DIGITS = 11;
const hexTime = (at: number) => Math.max(0, Math.floor(at)).toString(16).padStart(TIME_DIGITS, '0');

/**
 * A bearer secret: its typed prefix and 256 bits of randomness. With `issuedAt` (ms), that time (not secret) comes
 * between the two as 11 hex digits, so the keys stored for such tokens can sort by issue time (`issueTimeOf`).
 */
export function issueToken(kind: TokenKind, issuedAt?: number): string {
  return tokenText(kind, issuedAt, randomText(32));
}

/** A token as `issueToken` makes them, whose 256 bits are `secret`'s first 32 bytes (a secret derived, not drawn). */
export function tokenFromSecret(kind: TokenKind, secret: Buffer, issuedAt?: number): string {
  return tokenText(kind, issuedAt, secret.toString('base64url', 0, 32));
}

const tokenText = (kind: TokenKind, issuedAt: number | undefined, secret: string) => tokenPrefixes[kind] + (issuedAt === undefined ? '' : hexTime(issuedAt)) + secret;

const TOKEN_BODY = /^(?:[0-9a-f]{11})?[A-Za-z0-9_-]{43}$/;

export function hasTokenShape(value: string, kind: TokenKind): boolean {
  const prefix = tokenPrefixes[kind];
  return value.startsWith(prefix) && TOKEN_BODY.test(value.slice(prefix.length));
}

/** The issue time a token of this kind carries (its 11 hex digits, as issued), if it was issued with one. */
export function issueTimeOf(value: string, kind: TokenKind): string | undefined {
  const prefix = tokenPrefixes[kind];
  if (value.length !== prefix.length + TIME_DIGITS + 43 || !hasTokenShape(value, kind)) return undefined;
  return value.slice(prefix.length, prefix.length + TIME_DIGITS);
}

/** A public identifier (not a secret): a short type tag and 128 random bits. */
export function newId(tag: string): string {
  return `${tag}_${randomText(16)}`;
}

/**
 * An identifier for rows appended at a high rate (audit records): its tag, the time `at` (ms) as 11 hex digits, and
 * 96 random bits. Ids made later sort after earlier ones, so the primary-key index of such a table grows at its end:
 * a random key lands on a random leaf page, and a batch of 200 of them dirtied (and wrote to the WAL) ~200 pages.
 */
export function timeOrderedId(tag: string, at: number): string {
  return `${tag}_${hexTime(at)}${randomText(12)}`;
}
