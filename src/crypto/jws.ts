import { sign, type KeyObject } from 'node:crypto';

/**
 * A compact JWS (RFC 7515 §7.1) of a JSON payload, signed ES256 (RFC 7518 §3.4: SHA-256, the signature as the raw
 * 64-byte R || S). Signed here rather than with jose's SignJWT because jose signs through WebCrypto: asynchronous,
 * with per-call algorithm normalisation, about twice the cost of node:crypto's synchronous `sign` on the token
 * endpoint's hot path. Verification and the JWKS stay with jose, which tests check accepts these tokens.
 */
export function signEs256Jws(encodedHeader: string, payload: object, privateKey: KeyObject): string {
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput, 'latin1'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** The base64url JOSE header, computed once per key. */
export function encodeJoseHeader(header: { alg: 'ES256'; typ: string; kid: string }): string {
  return Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
}
