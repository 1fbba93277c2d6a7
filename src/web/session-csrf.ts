import { csrfToken, csrfTokenMatches } from '../identity/session-csrf.js';
import type { ResolvedSession } from '../identity/sessions.js';

/** The CSRF token of a signed-in page's forms for `purpose` (identity/session-csrf.ts: stateless, per session and page). */
export function csrfTokenFor(session: ResolvedSession, cookieKey: Buffer, purpose: string): string {
  return csrfToken(session.session, cookieKey, purpose);
}

/** Whether a form's `csrf_token` field is this session's token for `purpose` (constant-time). */
export function csrfMatches(body: unknown, session: ResolvedSession, cookieKey: Buffer, purpose: string): boolean {
  return csrfTokenMatches((body as { csrf_token?: unknown } | undefined)?.csrf_token, session.session, cookieKey, purpose);
}
