import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Stored form of a secret (token, key, client secret): HMAC-SHA256 under a pepper the database never holds.
 * The `p<n>.` tag names the pepper version so a rotated pepper can still find older rows.
 */
export interface KeyedHasher {
  hash(secret: string): string;
  /** Every stored form the secret may have, newest pepper first. */
  candidates(secret: string): string[];
}

export function keyedHasher(peppers: readonly { version: number; key: Buffer }[]): KeyedHasher {
  if (peppers.length === 0) throw new Error('keyedHasher needs at least one pepper');
  const digest = (version: number, key: Buffer, secret: string) =>
    `p${version}.${createHmac('sha256', key).update(secret, 'utf8').digest('base64url')}`;
  return {
    hash: (secret) => digest(peppers[0]!.version, peppers[0]!.key, secret),
    candidates: (secret) => peppers.map((p) => digest(p.version, p.key, secret)),
  };
}

/** Constant-time string equality for secrets of possibly different lengths. */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
