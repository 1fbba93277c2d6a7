import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { BearerSource } from '../oauth/bearer-fetch.js';
import { directRequests, type DirectRequests } from './direct-requests.js';
import { attributeServerRequests } from './request-attribution.js';

/**
 * A Streamable HTTP upstream's two paths on one session: the SDK's client transport, whose responses have the
 * upstream's own requests marked with the request they belong to (request-attribution.ts), and the direct path
 * (direct-requests.ts) that sends tool calls on the same session without the SDK.
 */
export function openStreamableHttp(options: {
  url: URL;
  headers: Record<string, string>;
  /** The fetch the SDK transport uses (the bearer's, for OAuth upstreams), before marking. */
  fetch: FetchLike;
  /** Wraps the final fetch (transports.ts gives every request its own abort signal). */
  wrapFetch: (fetch: FetchLike) => FetchLike;
  bearer?: BearerSource;
}): { transport: StreamableHTTPClientTransport; direct: DirectRequests } {
  const { url, headers, bearer } = options;
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: options.wrapFetch(attributeServerRequests(options.fetch)) });
  return { transport, direct: directRequests({ url, headers, bearer, transport }) };
}
