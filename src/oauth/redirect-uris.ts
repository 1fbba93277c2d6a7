import { OAuthError } from './errors.js';

/** What decides which redirect URIs a client may register (config.oauth). */
export interface RedirectUriPolicy {
  /** `strict`: only https and http://127.0.0.1[:port], and at most 5 of them. */
  strict: boolean;
  /** Custom schemes of native apps (e.g. `cursor`), honoured outside the strict policy. */
  allowedSchemes: readonly string[];
}

export const MAX_REDIRECT_URIS = 10;
/** The strict policy's narrower cap (seed 004). */
export const MAX_STRICT_REDIRECT_URIS = 5;
const MAX_REDIRECT_URI_LENGTH = 2000;

/** Schemes that run code or read local files when a browser follows them; refused even if configured. */
const DANGEROUS_SCHEMES = new Set(['javascript', 'data', 'file', 'vbscript', 'blob', 'about']);

/**
 * A loopback http URI (RFC 8252 §7.3 hosts; `localhost` and `127.0.0.1` stay distinct) split so the port can be ignored: host and everything after the authority, both as
 * written (exact string comparison, no URL normalisation). Undefined for anything else.
 */
function loopbackParts(uri: string): { host: string; rest: string } | undefined {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?([/?].*)?$/.exec(uri);
  if (!match) return undefined;
  if (match[2] !== undefined && Number(match[2]) > 65535) return undefined;
  const rest = match[3] ?? '/';
  return { host: match[1]!, rest: rest.startsWith('?') ? `/${rest}` : rest };
}

/** Why `uri` may not be registered under `policy`, or undefined when it may. */
export function redirectUriProblem(uri: string, policy: RedirectUriPolicy): string | undefined {
  if (uri.length === 0) return 'is empty';
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `is longer than ${MAX_REDIRECT_URI_LENGTH} characters`;
  // The URL parser silently trims and drops such characters, so the stored string would not be what it checked.
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'contains whitespace or control characters';
  if (uri.includes('#')) return 'has a fragment (RFC 6749 §3.1.2)';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (DANGEROUS_SCHEMES.has(scheme)) return `uses the ${scheme}: scheme, which is never allowed`;
  if (url.username || url.password) return 'carries credentials';
  if (scheme === 'https') return url.hostname ? undefined : 'has no host';
  if (scheme === 'http') {
    // Read as written: the parser would turn `http://127.1` or `http://0x7f.1` into 127.0.0.1.
    const loopback = loopbackParts(uri);
    if (policy.strict) return loopback?.host === '127.0.0.1' ? undefined : 'uses http, which the strict policy allows only for 127.0.0.1';
    return loopback ? undefined : 'uses http on a host that is not loopback (127.0.0.1, [::1] or localhost)';
  }
  if (policy.strict) return `uses the custom scheme ${scheme}:, which the strict policy refuses`;
  return policy.allowedSchemes.includes(scheme) ? undefined : `uses the scheme ${scheme}:, which is not allowed here`;
}

/**
 * The redirect URIs of a registration: 1 to 10 (1 to 5 under the strict policy), each allowed by the policy. The
 * first refused URI is named in the error, so a client sending several (Cursor sends three) learns which one to drop.
 */
export function checkRedirectUris(uris: readonly string[], policy: RedirectUriPolicy): string[] {
  const max = policy.strict ? MAX_STRICT_REDIRECT_URIS : MAX_REDIRECT_URIS;
  if (uris.length === 0) throw new OAuthError('invalid_redirect_uri', 'redirect_uris must list at least one URI');
  if (uris.length > max) throw new OAuthError('invalid_redirect_uri', `redirect_uris may list at most ${max} URIs`);
  for (const uri of uris) {
    const problem = redirectUriProblem(uri, policy);
    if (problem) throw new OAuthError('invalid_redirect_uri', `redirect URI ${JSON.stringify(uri)} ${problem}`);
  }
  return [...new Set(uris)];
}

/**
 * The authorization endpoint's rule: exact string match, except that a registered loopback http URI matches
 * the same host, path and query on any port, because native apps listen on an ephemeral port (RFC 8252 §7.3).
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const asked = loopbackParts(requested);
  if (!asked) return false;
  return registered.some((uri) => {
    const known = loopbackParts(uri);
    return known !== undefined && known.host === asked.host && known.rest === asked.rest;
  });
}
