import { allowInsecureRequests, customFetch, type CustomFetchOptions } from 'oauth4webapi';
import { guardedFetch, type GuardedResponse } from '../../net/guarded-fetch.js';
import type { OutboundHttpOptions } from './types.js';

/**
 * The fetch that every outbound OAuth request goes through (metadata, registration, token, revocation), handed
 * to oauth4webapi as its `customFetch`: the guarded fetch underneath, so discovered URLs reach public addresses
 * only (with `allowPrivateNetworks`, anything and plain http too), redirects are answered unfollowed as
 * oauth4webapi asks (`redirect: 'manual'`), and every answer is bounded in size and time.
 */

export const OUTBOUND_MAX_BYTES = 256 * 1024;
export const OUTBOUND_TIMEOUT_MS = 10_000;

/** The subset of fetch's init that oauth4webapi and Gatehouse's own discovery use. */
export type OutboundFetchInit = Partial<Pick<CustomFetchOptions<string, unknown>, 'method' | 'headers' | 'redirect'>> & { body?: unknown };

export type OutboundFetch = (url: string, init?: OutboundFetchInit) => Promise<Response>;

function requestBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (body instanceof URLSearchParams || typeof body === 'string') return body.toString();
  throw new TypeError('outbound OAuth requests send form or JSON text bodies only');
}

function toResponse(answer: GuardedResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
  }
  const bodyless = [101, 204, 205, 304].includes(answer.status);
  const response = new Response(bodyless ? null : new Uint8Array(answer.body), { status: answer.status, headers });
  // A constructed Response has an empty url; callers that report where an answer came from read it.
  Object.defineProperty(response, 'url', { value: answer.url });
  return response;
}

/** A fetch-compatible function over the guarded fetch, per `http`. Refusals and failures reject with GuardedFetchError. */
export function outboundFetch(http: OutboundHttpOptions): OutboundFetch {
  return async (url, init = {}) => {
    const body = requestBody(init.body);
    const answer = await guardedFetch(url, {
      ...http.fetchOptions,
      allowPrivateNetworks: http.allowPrivateNetworks,
      // Trust is per hop: a trusted origin's redirect elsewhere is vetted like any discovered URL.
      ...(http.trustedOrigins ? { trustedOrigins: http.trustedOrigins } : {}),
      maxBytes: OUTBOUND_MAX_BYTES,
      timeoutMs: http.timeoutMs ?? OUTBOUND_TIMEOUT_MS,
      method: init.method ?? 'GET',
      headers: { ...init.headers },
      ...(body !== undefined ? { body } : {}),
      redirect: init.redirect === 'manual' ? 'manual' : 'follow',
      acceptAnyStatus: true,
    });
    return toResponse(answer);
  };
}

export interface OAuthRequestOptions {
  [customFetch]: OutboundFetch;
  [allowInsecureRequests]?: boolean;
}

/** The options every oauth4webapi call gets: the guarded fetch, and http endpoints permitted only with allowPrivateNetworks. */
export function oauthRequestOptions(http: OutboundHttpOptions): OAuthRequestOptions {
  return {
    [customFetch]: outboundFetch(http),
    // Deprecated in oauth4webapi but the only switch for http:// endpoints, which development and tests need.
    ...(http.allowPrivateNetworks ? { [allowInsecureRequests]: true } : {}),
  };
}
