import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BrowserSessionRecord } from '../store/index.js';

/** The header the console's script sends the token in; a cross-site form or `fetch` cannot set it without CORS. */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Anti-CSRF tokens for cookie-authenticated `/api` requests, one per browser session: an HMAC of the session's stored
 * hash under the cookie key, so nothing more is stored, it dies with the session, and it reveals nothing of the
 * session token. Pages put it in a `<meta>` element; the console's script sends it back in `x-csrf-token`.
 */
export interface SessionCsrf {
  tokenFor(session: Pick<BrowserSessionRecord, 'tokenHash'>): string;
  /** Whether `presented` is this session's token (constant time). */
  matches(session: Pick<BrowserSessionRecord, 'tokenHash'>, presented: string | undefined): boolean;
}

export function sessionCsrf(cookieKey: Buffer): SessionCsrf {
  const tokenFor = (session: Pick<BrowserSessionRecord, 'tokenHash'>) =>
    createHmac('sha256', cookieKey).update(`gatehouse api csrf v1\0${session.tokenHash}`).digest('base64url');
  return {
    tokenFor,
    matches(session, presented) {
      if (typeof presented !== 'string') return false;
      const expected = Buffer.from(tokenFor(session));
      const given = Buffer.from(presented);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
