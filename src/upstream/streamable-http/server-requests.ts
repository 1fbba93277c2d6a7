import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
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
import { META } from './protocol-eras.js';
import { RELATED_REQUEST_KEY } from './request-attribution.js';

/**
 * An upstream's own requests (sampling, elicitation) go to the downstream client whose request the upstream is
 * serving, and to no other. The whole way, in order:
 * 1. The gateway sends a request upstream with a relay for it (`UpstreamClient.forward`, `onServerRequest`): the
 *    relay of gateway/upstream-requests.ts, which sends on the downstream request's own stream.
 * 2. On the direct path (direct-requests.ts) the upstream's request arrives on that call's own stream, so it goes
 *    to the call's relay at once. On the SDK client's path every stream ends in one shared client:
 *    request-attribution.ts marks each request with the JSON-RPC id of the POST whose stream it came on, and this
 *    module hands it to the relay registered for that id, or refuses it (no mark, or not a request in flight).
 * 3. The relay checks what the downstream client declared it can do and sends the request on; the answer comes back
 *    the same way.
 * Only Streamable HTTP upstreams are offered sampling and elicitation: stdio, the legacy SSE transport and
 * in-process have one channel for everything, so their requests cannot be attributed.
 */

/** Sends an upstream's request on to the downstream client and returns its answer (or throws the error to answer with). */
export type ServerRequestRelay = (request: { method: string; params: Record<string, unknown> }, signal: AbortSignal) => Promise<Result>;

/** What an upstream client offers where its requests can be attributed; a downstream client that lacks one is answered for by the relay. */
export const RELAYED_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} } };

/** The answer to an upstream request that belongs to no request the gateway sent for a client. */
const unattributed = (method: string) =>
  new McpError(ErrorCode.InvalidRequest, `${method} is only accepted on the stream of a request the gateway sent for a client`);

/** The relay of a request sent without one: every request of the upstream is refused. */
export const refuseServerRequests: ServerRequestRelay = async (request) => {
  throw unattributed(request.method);
};

interface RelayScope {
  relay: ServerRequestRelay;
  /** The upstream request sent in this scope, once it is sent, and the table it is registered in. */
  sent?: { id: RequestId; inFlight: Map<RequestId, ServerRequestRelay> };
}

/**
 * Which downstream request the code running now serves, set around one upstream request. One for the process, not
 * per client: an AsyncLocalStorage in use turns on Node's promise hooks, a cost on every promise of the process (the
 * tool-call hot path included, which never uses it). So it is switched off again whenever no request is in its scope
 * (`running`); its next `run` switches it on.
 */
const scopes = new AsyncLocalStorage<RelayScope>();
let running = 0;

/** One SDK client's side of the relay (step 2 of the SDK path). */
export interface ServerRequestRelays {
  /** `transport` with the client's outgoing requests registered; connect the client to what this returns. */
  track(transport: Transport): Transport;
  /**
   * Runs `send`, which sends one request to the upstream, so that requests the upstream sends back while serving it
   * go to `relay`. Only the first request `send` sends is registered (a ping the SDK might start meanwhile is not).
   */
  during<T>(relay: ServerRequestRelay, send: () => Promise<T>): Promise<T>;
}

/** Installs `client`'s sampling and elicitation handlers, which hand each marked request to its relay. */
export function relayServerRequests(client: Client): ServerRequestRelays {
  const inFlight = new Map<RequestId, ServerRequestRelay>();

  const relayed = async (request: { method: string; params: Record<string, unknown> & { _meta?: Record<string, unknown> } }, extra: { signal: AbortSignal }) => {
    const { [RELATED_REQUEST_KEY]: related, [META.progressToken]: _upstreamToken, ...meta } = request.params._meta ?? {};
    const relay = typeof related === 'number' || typeof related === 'string' ? inFlight.get(related) : undefined;
    if (!relay) throw unattributed(request.method);
    const { _meta: _marked, ...params } = request.params;
    return relay({ method: request.method, params: Object.keys(meta).length === 0 ? params : { ...params, _meta: meta } }, extra.signal);
  };
  // The SDK Client checks what comes back against the method's result schema before the upstream gets it.
  client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => relayed(request, extra) as Promise<CreateMessageResult>);
  client.setRequestHandler(ElicitRequestSchema, (request, extra) => relayed(request, extra) as Promise<ElicitResult>);

  return {
    track(transport) {
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
    async during(relay, send) {
      const scope: RelayScope = { relay };
      running++;
      try {
        return await scopes.run(scope, send);
      } finally {
        scope.sent?.inFlight.delete(scope.sent.id);
        // Nothing reads the scope after its request is sent (`track`), so no request is left without its relay.
        if (--running === 0) scopes.disable();
      }
    },
  };
}
