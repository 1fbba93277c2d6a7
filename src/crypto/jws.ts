import type { KeyObject } from 'node:crypto';
import type { Es256Signer } from './es256-signer.js';

/**
 * A compact JWS (RFC 7515 §7.1) of a JSON payload, signed ES256 (RFC 7518 §3.4: SHA-256, the signature as the raw
 * 64-byte R || S). Signed with node:crypto rather than with jose's SignJWT because jose signs through WebCrypto, with
 * per-call algorithm normalisation, about twice the cost of node:crypto's `sign` on the token endpoint's hot path; and
 * off the main thread (es256-signer.ts), so the signatures of concurrent requests run on another core beside the
 * main thread's database work. Verification and the JWKS stay with jose, which tests check accepts these tokens.
 */
export async function signEs256Jws(encodedHeader: string, payload: object, key: { kid: string; privateKey: KeyObject }, signer: Es256Signer): Promise<string> {
  const signingInput = jwsSigningInput(encodedHeader, payload);
  return `${signingInput}.${await signer.sign(key.kid, key.privateKey, signingInput)}`;
}

/** The JWS's first two parts: what its signature signs. */
export const jwsSigningInput = (encodedHeader: string, payload: object) => `${encodedHeader}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;

/** The base64url JOSE header, computed once per key. */
export function encodeJoseHeader(header: { alg: 'ES256'; typ: string; kid: string }): string {
  return Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
}
