import { createHmac } from 'node:crypto';
import { secretsEqual } from '../crypto/keyed-hash.js';
import type { ResolvedSession } from '../identity/sessions.js';

/**
 * The CSRF token of a signed-in page's forms: an HMAC of the session's stored hash and the page's purpose, so it
 * needs no storage, differs per session and per page, dies with the session, and cannot be computed without the
 * server's cookie key.
 */
export function csrfTokenFor(session: ResolvedSession, cookieKey: Buffer, purpose: string): string {
  return createHmac('sha256', cookieKey).update(`${purpose} csrf\0${session.session.tokenHash}`).digest('base64url');
}

/** Whether a form's `csrf_token` field is this session's token for `purpose` (constant-time). */
export function csrfMatches(body: unknown, session: ResolvedSession, cookieKey: Buffer, purpose: string): boolean {
  const presented = (body as { csrf_token?: unknown } | undefined)?.csrf_token;
  return typeof presented === 'string' && secretsEqual(presented, csrfTokenFor(session, cookieKey, purpose));
}
