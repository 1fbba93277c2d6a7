import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { routingHeaders, withProgressToken, withRequestMeta, type StatelessIdentity } from './protocol-eras.js';
import { Call, connectionClosed, type DirectRequestHooks } from './direct-call.js';
import { UpstreamHttp, type UpstreamHttpOptions } from './upstream-http.js';

/**
 * The lean path for one request on an upstream's Streamable HTTP session (MCP 2025-06-18 / 2025-11-25 transport):
 * the SDK client did the `initialize` handshake and keeps the session; this sends a request on that session with
 * undici's handler API on a pool of kept-alive connections and reads the answer (JSON or SSE) itself, without fetch, streams or zod (upstream-exchange.ts).
 * Requests the upstream sends on the request's stream go to the caller's relay; other notifications go to the SDK
 * client (through its transport's `onmessage`), which relays list changes and log messages as usual.
 * It is also the one path to a stateless (2026-07-28) upstream (`speakStateless`): every request then carries the
 * per-request `_meta` and the routing headers, an error answer's JSON-RPC error is the request's error, a stream is
 * not resumed, and cancelling closes the stream (transports/streamable-http "Cancellation") instead of a notification.
 */

export { NoAnswer, type DirectRequestHooks } from './direct-call.js';

export interface DirectRequests {
  request(message: { method: string; params?: Record<string, unknown> }, hooks: DirectRequestHooks): Promise<Result>;
  /** From now on speaks the stateless era as `identity` (no session, `_meta` and routing headers); undefined: the session era. */
  speakStateless(identity: StatelessIdentity | undefined): void;
  /** The stateless revision spoken, or undefined in the session era. */
  protocolVersion(): string | undefined;
  /** Destroys the pool of kept-alive connections; later requests reject. */
  close(): void;
}

/** Where to send, with what credentials, on which SDK client's session. */
export type DirectRequestsOptions = UpstreamHttpOptions;

export function directRequests(options: DirectRequestsOptions): DirectRequests {
  const upstream = new UpstreamHttp(options);
  const live = new Set<Call>();
  return {
    request(message, hooks) {
      if (upstream.closed) return Promise.reject(connectionClosed());
      if (hooks.signal.aborted) return Promise.reject(hooks.signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
      const id = upstream.nextId();
      let params = message.params;
      if (hooks.onProgress) params = withProgressToken(params, id);
      const stateless = upstream.stateless;
      if (stateless) params = withRequestMeta(params, stateless, hooks.clientCapabilities ?? {}, hooks.logLevel);
      const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method: message.method } : { jsonrpc: '2.0', id, method: message.method, params });
      return new Call(upstream, live, id, body, hooks, stateless && { ...routingHeaders(message.method, message.params), ...hooks.paramHeaders }).promise;
    },
    speakStateless(identity) {
      upstream.stateless = identity;
    },
    protocolVersion: () => upstream.stateless?.protocolVersion,
    close() {
      if (upstream.closed) return;
      for (const call of [...live]) call.closed();
      upstream.close();
    },
  };
}
