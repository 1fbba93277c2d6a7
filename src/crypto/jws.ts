import { sign, type KeyObject } from 'node:crypto';

/**
 * A compact JWS (RFC 7515 §7.1) of a JSON payload, signed ES256 (RFC 7518 §3.4: SHA-256, the signature as the raw
 * 64-byte R || S). Signed here rather than with jose's SignJWT because jose signs through WebCrypto, with per-call
 * algorithm normalisation, about twice the cost of node:crypto's `sign` on the token endpoint's hot path.
 * node:crypto's `sign` with a callback signs on libuv's threadpool: the main thread only hands the job over, so
 * the signatures of concurrent requests run on another core beside the main thread's database work.
 * Verification and the JWKS stay with jose, which tests check accepts these tokens.
 */
export function signEs256Jws(encodedHeader: string, payload: object, privateKey: KeyObject): Promise<string> {
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(signingInput, 'latin1'), { key: privateKey, dsaEncoding: 'ieee-p1363' }, (error, signature) => {
      if (error) reject(error);
      else resolve(`${signingInput}.${signature.toString('base64url')}`);
    });
  });
}

/** The base64url JOSE header, computed once per key. */
export function encodeJoseHeader(header: { alg: 'ES256'; typ: string; kid: string }): string {
  return Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
}
