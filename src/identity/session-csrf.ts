import { createHmac } from 'node:crypto';
import { secretsEqual } from '../crypto/keyed-hash.js';
import type { BrowserSessionRecord } from '../store/index.js';

/** The header the console's script sends the token in; a cross-site form or `fetch` cannot set it without CORS. */
export const CSRF_HEADER = 'x-csrf-token';

type SessionHash = Pick<BrowserSessionRecord, 'tokenHash'>;

/**
 * Anti-CSRF tokens of a browser session: an HMAC of the session's stored hash and a purpose (a page's forms, the
 * console's `/api` calls) under the cookie key, so nothing more is stored, each differs per session and purpose, dies
 * with the session, and reveals nothing of the session token.
 */
export function csrfToken(session: SessionHash, cookieKey: Buffer, purpose: string): string {
  return createHmac('sha256', cookieKey).update(`${purpose} csrf\0${session.tokenHash}`).digest('base64url');
}

/** Whether `presented` is this session's token for `purpose` (constant time). */
export function csrfTokenMatches(presented: unknown, session: SessionHash, cookieKey: Buffer, purpose: string): boolean {
  return typeof presented === 'string' && secretsEqual(presented, csrfToken(session, cookieKey, purpose));
}

/** The token of cookie-authenticated `/api` requests: pages put it in a `<meta>` element, the console's script sends it back in `x-csrf-token`. */
export interface SessionCsrf {
  tokenFor(session: SessionHash): string;
  matches(session: SessionHash, presented: string | undefined): boolean;
}

const API_PURPOSE = 'gatehouse api v1';

export function sessionCsrf(cookieKey: Buffer): SessionCsrf {
  return {
    tokenFor: (session) => csrfToken(session, cookieKey, API_PURPOSE),
    matches: (session, presented) => csrfTokenMatches(presented, session, cookieKey, API_PURPOSE),
  };
}
