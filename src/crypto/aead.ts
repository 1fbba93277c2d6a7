import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomSlice } from './random.js';

const VERSION = 'v1';

export class DecryptionError extends Error {
  constructor() {
    super('cannot decrypt: wrong key or tampered data');
    this.name = 'DecryptionError';
  }
}

/**
 * AES-256-GCM with a random 96-bit nonce; `context` is bound as associated data so a ciphertext
 * cannot be moved to another column or row. Output: v1.<nonce>.<ciphertext>.<tag>, base64url.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const nonce = randomSlice(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, nonce, body, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

export function open(key: Buffer, sealed: string, context: string): string {
  const [version, nonce, body, tag] = sealed.split('.');
  if (version !== VERSION || nonce === undefined || body === undefined || tag === undefined) throw new DecryptionError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError();
  }
}
