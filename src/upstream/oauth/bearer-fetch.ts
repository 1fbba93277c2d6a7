import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { NeedsAuthorization } from './token-vault.js';

/** Where a connection's upstream access token comes from (the token vault, for one upstream and subject). */
export interface BearerSource {
  /** A valid access token; throws NeedsAuthorization when there is none to be had. */
  token(): Promise<string>;
  /** The upstream refused `stale` with 401: a fresh token (refreshed unless someone already did), or NeedsAuthorization. */
  renew(stale: string): Promise<string>;
}

/**
 * A fetch for the SDK's HTTP transports that puts the upstream's own token on every request (never the
 * downstream client's: no token passthrough) and, when the upstream answers 401, renews the token once and
 * sends the request again. The SDK's bodies are strings, so a request can be sent twice.
 */
export function bearerFetch(source: BearerSource, base: FetchLike = fetch): FetchLike {
  const send = (url: string | URL, init: RequestInit | undefined, token: string) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return base(url, { ...init, headers });
  };
  return async (url, init) => {
    const token = await source.token();
    const response = await send(url, init, token);
    if (response.status !== 401) return response;
    await response.body?.cancel().catch(() => undefined);
    return send(url, init, await source.renew(token));
  };
}

/**
 * The token source of a per-user upstream's listing connection: the token of the first of its users that has one,
 * so that every user sees the upstream's tools; the subject that worked last is tried first.
 */
export function firstUsableBearer(source: {
  upstreamId: string;
  /** The subjects that may have a token, best first. */
  subjects(): Promise<string[]>;
  bearer(subject: string): BearerSource;
  /** Why there is no token when none of them has one. */
  none: string;
}): BearerSource {
  let current: string | undefined;
  const pick = async (): Promise<string> => {
    const subjects = await source.subjects();
    const ordered = current !== undefined && subjects.includes(current) ? [current, ...subjects.filter((subject) => subject !== current)] : subjects;
    for (const subject of ordered) {
      try {
        const token = await source.bearer(subject).token();
        current = subject;
        return token;
      } catch (error) {
        if (!(error instanceof NeedsAuthorization)) throw error;
      }
    }
    throw new NeedsAuthorization(source.upstreamId, '', source.none);
  };
  return {
    token: pick,
    renew: async (stale) => (current === undefined ? pick() : source.bearer(current).renew(stale).catch(pick)),
  };
}
