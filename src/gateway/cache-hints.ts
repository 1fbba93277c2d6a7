import { connectsPerUser, type Upstream } from '../upstream/types.js';

/**
 * Cache hints of MCP 2026-07-28 (server/utilities/caching): how long a list or read result may be considered fresh,
 * and whether a shared cache may keep it for other users. A gateway's answer is made of parts from several upstreams,
 * so its hint is the most careful of theirs: the smallest `ttlMs`, and `private` as soon as one part is per-user.
 */
export interface CacheHint {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/** What an answer says when nothing is known to be cacheable: stale at once, for this caller only. */
export const UNCACHEABLE: CacheHint = Object.freeze({ ttlMs: 0, cacheScope: 'private' });

/**
 * The hint an upstream's own result carries (2026-07-28 upstreams send one); absent or malformed fields count as the
 * specification says a client must read them: `ttlMs` 0 (immediately stale), and `private` (the safe reading).
 */
export function hintOfResult(result: unknown): CacheHint {
  const { ttlMs, cacheScope } = (result ?? {}) as { ttlMs?: unknown; cacheScope?: unknown };
  return {
    ttlMs: Number.isSafeInteger(ttlMs) && (ttlMs as number) > 0 ? (ttlMs as number) : 0,
    cacheScope: cacheScope === 'public' ? 'public' : 'private',
  };
}

/** The hint of an answer made of `parts`: the smallest TTL, `private` if any part is. No part: uncacheable. */
export function combineHints(parts: readonly CacheHint[]): CacheHint {
  if (parts.length === 0) return UNCACHEABLE;
  return {
    ttlMs: Math.min(...parts.map((part) => part.ttlMs)),
    cacheScope: parts.every((part) => part.cacheScope === 'public') ? 'public' : 'private',
  };
}

/**
 * The hint of a gateway answer built from `parts` (each upstream's result that went into it) while `upstreams` are
 * configured: `private` as soon as what one of them contributes depends on who asks, even an upstream this caller does
 * not see (its absence from the answer is per-user too).
 */
export function answerHint(upstreams: readonly Upstream[], parts: readonly CacheHint[]): CacheHint {
  const hint = combineHints(parts);
  return upstreams.some(userSpecific) ? { ...hint, cacheScope: 'private' } : hint;
}

/**
 * Whether what `upstream` contributes differs between users: its own connection per user, or a policy that shows it
 * to some users only. Tool allow and deny lists apply to everyone alike.
 */
function userSpecific(upstream: Upstream): boolean {
  const { allowed_users: users, allowed_groups: groups } = upstream.settings;
  return connectsPerUser(upstream.settings) || users !== undefined || groups !== undefined;
}
