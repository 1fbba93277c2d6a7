import { createHash } from 'node:crypto';
import { secretsEqual } from '../crypto/keyed-hash.js';

/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

export function isWellFormedVerifier(verifier: string): boolean {
  return VERIFIER_PATTERN.test(verifier);
}

/** RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/**
 * RFC 7636 §4.6 with S256 only (`plain` is refused at the authorization endpoint): a malformed verifier
 * fails outright; otherwise the derived challenge is compared with the stored one in constant time.
 */
export function verifyS256(verifier: string, storedChallenge: string): boolean {
  if (!isWellFormedVerifier(verifier)) return false;
  return secretsEqual(s256Challenge(verifier), storedChallenge);
}
