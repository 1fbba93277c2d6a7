/** The scopes Gatehouse grants: `mcp:read` lists and reads, `mcp:write` calls any tool (the gateway enforces them). */
export const SUPPORTED_SCOPES = ['mcp:read', 'mcp:write'] as const;
export type Scope = (typeof SUPPORTED_SCOPES)[number];

/** Granted when a client asks for nothing: what an MCP client needs to work. */
export const DEFAULT_SCOPES: readonly Scope[] = ['mcp:read', 'mcp:write'];

const supported = new Set<string>(SUPPORTED_SCOPES);

/**
 * Bifrost's one scope, standing for every supported scope. Only granted when a deployment's strict policy is
 * configured to answer it (`oauth.strictScope`), for clients that expect exactly `mcp`.
 */
export const ALL_SCOPES_ALIAS = 'mcp';

/** Every scope Gatehouse understands in a granted scope string (and accepts in `oauth.strictScope`). */
export const KNOWN_SCOPES: readonly string[] = [...SUPPORTED_SCOPES, ALL_SCOPES_ALIAS];

/** Granted scope strings are few (those of the grants), and every /mcp request with a token needs its set: each is parsed once. */
const HELD_SCOPES_CACHED = 64;
const heldByGranted = new Map<string, ReadonlySet<string>>();

/** What a granted scope string allows: its scopes, the alias expanded to every supported scope (one set per string, shared). */
export function heldScopes(granted: string | undefined | null): ReadonlySet<string> {
  const key = granted ?? '';
  let found = heldByGranted.get(key);
  if (found === undefined) {
    const held = parseScope(key);
    found = new Set(held.includes(ALL_SCOPES_ALIAS) ? [...held, ...SUPPORTED_SCOPES] : held);
    if (heldByGranted.size >= HELD_SCOPES_CACHED) heldByGranted.clear();
    heldByGranted.set(key, found);
  }
  return found;
}

/** Splits a scope string (RFC 6749 §3.3) into distinct tokens, in order of first appearance. */
export function parseScope(value: string | undefined | null): string[] {
  return [...new Set((value ?? '').split(' ').filter(Boolean))];
}

export function formatScope(scopes: readonly string[]): string {
  return [...new Set(scopes)].join(' ');
}

/**
 * What a request gets: the requested scopes we support and the client may have; unknown ones
 * (offline_access, scopes of other servers) are dropped rather than refused, as real clients send them.
 * Falls back to the client's allowance (or the default) when nothing usable was asked for.
 */
export function grantableScopes(requested: string | undefined | null, clientAllowance?: string | null): Scope[] {
  const allowance = clientAllowance ? parseScope(clientAllowance).filter((s): s is Scope => supported.has(s)) : [...DEFAULT_SCOPES];
  const allowed = new Set<string>(allowance);
  const wanted = parseScope(requested).filter((s): s is Scope => allowed.has(s));
  return wanted.length > 0 ? wanted : allowance;
}

/** Registration metadata `scope`: filtered to what is supported; undefined when nothing remains. */
export function supportedScopeString(value: string | undefined): string | undefined {
  const kept = parseScope(value).filter((s) => supported.has(s));
  return kept.length > 0 ? formatScope(kept) : undefined;
}

/** True when every scope of `needed` is allowed by `held`. */
export function scopesCover(held: string, needed: readonly string[]): boolean {
  const have = heldScopes(held);
  return needed.every((s) => have.has(s));
}
