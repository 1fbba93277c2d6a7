/**
 * The one reader of `Authorization` headers (RFC 9110 §11.6.2: a scheme, then credentials), for every surface:
 * Bearer tokens at /mcp, /api, registration and introspection; Basic at /api and client authentication.
 */
export interface AuthorizationHeader {
  /** Lower-cased: schemes are case-insensitive. */
  scheme: string;
  /** What follows the scheme, trimmed; empty when the header names a scheme only. */
  credentials: string;
}

const SCHEME_AND_CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+([\s\S]*))?$/;

/** Undefined when there is no header, or it is not a scheme followed by credentials. */
export function parseAuthorization(header: string | undefined): AuthorizationHeader | undefined {
  const match = SCHEME_AND_CREDENTIALS.exec(header?.trim() ?? '');
  return match ? { scheme: match[1]!.toLowerCase(), credentials: (match[2] ?? '').trim() } : undefined;
}

/** The token of a Bearer header; '' for `Bearer` without one; undefined for no header or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const parsed = parseAuthorization(header);
  return parsed?.scheme === 'bearer' ? parsed.credentials : undefined;
}

export interface BasicCredentials {
  /** The parts exactly as decoded from base64; RFC 6749 §2.3.1 clients form-decode them further. */
  user: string;
  password: string;
}

/** Basic credentials (RFC 7617) from a header already known to be Basic; undefined when they are not base64 of `user:password`. */
export function decodeBasic(credentials: string): BasicCredentials | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
