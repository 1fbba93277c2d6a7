import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  McpError,
  type CreateMessageResult,
  type ElicitResult,
  type RequestId,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import type { DirectRequests } from './direct-requests.js';
import { RELATED_REQUEST_KEY } from './request-attribution.js';
import type { UpstreamSettings } from './types.js';

/**
 * The SDK Client the gateway talks to an upstream with, shared by every session (or, per-user upstreams, every
 * session of one user). It offers sampling and elicitation, and relays each such request of the upstream to the
 * downstream client whose request the upstream is serving, and to no other: the request must carry the mark
 * request-attribution.ts gives it (the JSON-RPC id of the gateway request on whose stream it came), and that id
 * must be a request this client sent on behalf of a downstream request still in flight. Anything else is refused.
 */

/** Sends an upstream's request on to the downstream client and returns its answer (or throws the error to answer with). */
export type ServerRequestRelay = (request: { method: string; params: Record<string, unknown> }, signal: AbortSignal) => Promise<Result>;

interface RelayScope {
  relay: ServerRequestRelay;
  /** The upstream request sent in this scope, once it is sent, and the table it is registered in. */
  sent?: { id: RequestId; inFlight: Map<RequestId, ServerRequestRelay> };
}

/** Which downstream request the code running now serves: set around one upstream request (see `withServerRequestRelay`). */
const scopes = new AsyncLocalStorage<RelayScope>();

/**
 * Runs `send`, which sends one request to an upstream, so that requests the upstream sends back while serving it
 * go to `relay`. Only the first request `send` sends is registered (a ping the SDK might start meanwhile is not).
 */
export async function withServerRequestRelay<T>(relay: ServerRequestRelay, send: () => Promise<T>): Promise<T> {
  const scope: RelayScope = { relay };
  try {
    return await scopes.run(scope, send);
  } finally {
    scope.sent?.inFlight.delete(scope.sent.id);
  }
}

/**
 * Offered only where server requests can be attributed: on Streamable HTTP each arrives on its request's stream;
 * stdio, the legacy SSE transport and in-process have one channel for everything, so there it is not offered
 * (and the SDK answers such a request with "method not found"). A downstream client that lacks what the upstream
 * asks for is answered for by the relay.
 */
const RELAYED_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} } };

export interface UpstreamClient {
  client: Client;
  /**
   * `transport` with its outgoing requests registered; connect the client to what this returns. `direct` sends
   * requests on the same session without the SDK (Streamable HTTP only), found again with `directRequestsOf`.
   */
  track(transport: Transport, direct?: DirectRequests): Transport;
}

const directPaths = new WeakMap<Client, DirectRequests>();

/** The lean request path that goes with `client`'s connection, when it has one. */
export const directRequestsOf = (client: Client): DirectRequests | undefined => directPaths.get(client);

export function createUpstreamClient(clientVersion: string, connectionType: UpstreamSettings['connection_type']): UpstreamClient {
  const inFlight = new Map<RequestId, ServerRequestRelay>();
  const relays = connectionType === 'http';
  const client = new Client({ name: 'gatehouse', version: clientVersion }, { capabilities: relays ? RELAYED_CAPABILITIES : {} });
  // Only Streamable HTTP connections have a direct path, and only they relay: the others' track is the identity.
  if (!relays) return { client, track: (transport) => transport };

  const relayed = async (request: { method: string; params: Record<string, unknown> & { _meta?: Record<string, unknown> } }, extra: { signal: AbortSignal }) => {
    const { [RELATED_REQUEST_KEY]: related, progressToken: _upstreamToken, ...meta } = request.params._meta ?? {};
    const relay = typeof related === 'number' || typeof related === 'string' ? inFlight.get(related) : undefined;
    if (!relay) {
      throw new McpError(ErrorCode.InvalidRequest, `${request.method} is only accepted on the stream of a request the gateway sent for a client`);
    }
    const { _meta: _marked, ...params } = request.params;
    return relay({ method: request.method, params: Object.keys(meta).length === 0 ? params : { ...params, _meta: meta } }, extra.signal);
  };
  // The SDK Client checks what comes back against the method's result schema before the upstream gets it.
  client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => relayed(request, extra) as Promise<CreateMessageResult>);
  client.setRequestHandler(ElicitRequestSchema, (request, extra) => relayed(request, extra) as Promise<ElicitResult>);

  return {
    client,
    track(transport, direct) {
      if (direct) directPaths.set(client, direct);
      const send = transport.send.bind(transport);
      transport.send = (message, options) => {
        const scope = scopes.getStore();
        if (scope && !scope.sent && 'method' in message && 'id' in message) {
          inFlight.set(message.id, scope.relay);
          scope.sent = { id: message.id, inFlight };
        }
        return send(message, options);
      };
      return transport;
    },
  };
}
