import type { IncomingHttpHeaders } from 'node:http';

const MAX_NEXT_LENGTH = 2048;
const PROBE_ORIGIN = 'http://gatehouse.invalid';

/**
 * `next` as a path on this site, or undefined. It must start with one `/`; `//host` and `/\host` are
 * other hosts to a browser, and browsers drop tabs and newlines, so control characters and backslashes are refused.
 * The result is re-serialised by URL so it is always a valid, ASCII Location header; since that resolves dot
 * segments (`/a/..//host`, `/.%2e//host` become `//host`), the rule is checked again on what is sent, not only
 * on what came in.
 */
export function safeLocalPath(next: unknown): string | undefined {
  if (typeof next !== 'string' || next.length > MAX_NEXT_LENGTH) return undefined;
  if (!isPathOnThisSite(next)) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return undefined;
  let url: URL;
  try {
    url = new URL(next, PROBE_ORIGIN);
  } catch {
    return undefined;
  }
  const path = url.pathname + url.search + url.hash;
  return url.origin === PROBE_ORIGIN && isPathOnThisSite(path) ? path : undefined;
}

/** A Location a browser resolves on this origin: one leading `/`, not followed by another `/` or a backslash. */
function isPathOnThisSite(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\');
}

/**
 * Login-CSRF defence for form posts that carry no token (headless clients post only username and password):
 * a browser posting from another site says so in `Sec-Fetch-Site` or in an `Origin` that is not ours.
 * Our pages send `Referrer-Policy: no-referrer`, under which browsers post `Origin: null` even from our own
 * pages; that is accepted only when the browser vouches with `Sec-Fetch-Site: same-origin`.
 * Clients that send neither header are not browsers acting for someone else, so they pass.
 */
export function isCrossSiteFormPost(headers: IncomingHttpHeaders, ownOrigin: string): boolean {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site') return true;
  const origin = headers.origin;
  if (origin === undefined || origin === ownOrigin) return false;
  return !(origin === 'null' && site === 'same-origin');
}
