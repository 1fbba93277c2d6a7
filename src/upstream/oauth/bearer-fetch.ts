import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

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
