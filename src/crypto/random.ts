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
} as const;

export type TokenKind = keyof typeof tokenPrefixes;

/** A bearer secret: its typed prefix and 256 bits of randomness. */
export function issueToken(kind: TokenKind): string {
  return tokenPrefixes[kind] + randomBytes(32).toString('base64url');
}

export function hasTokenShape(value: string, kind: TokenKind): boolean {
  const prefix = tokenPrefixes[kind];
  return value.startsWith(prefix) && /^[A-Za-z0-9_-]{43}$/.test(value.slice(prefix.length));
}

/** A public identifier (not a secret): a short type tag and 128 random bits. */
export function newId(tag: string): string {
  return `${tag}_${randomBytes(16).toString('base64url')}`;
}
