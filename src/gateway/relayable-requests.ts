import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCNotification, isJSONRPCRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { DirectExchanges } from './direct-tool-calls.js';

/**
 * The requests a session's SDK server sends its client (an upstream's sampling or elicitation relayed during a
 * `prompts/get`, a `resources/read`, a `tools/call` the SDK serves, …) under the same ids as the direct path's
 * (direct-tool-calls.ts): GATEWAY_REQUEST_ID_PREFIX, this copy's random part, a counter. The SDK numbers its requests
 * 0, 1, 2… in every copy of a session, so an answer the balancer brings to another replica could not say which copy
 * asked; under these ids it is taken there by `takeDirectMessages` when that copy asked, and otherwise relayed to the
 * others (gateway/fleet-sessions.ts `relayAnswers`), where the asking copy takes it. The answer is handed to the SDK
 * server under its own id, so its timeouts, cancellation and result checks work as before.
 */
export function relayableServerRequests(transport: Transport, direct: DirectExchanges): void {
  const send = transport.send.bind(transport);
  /** The SDK's id of each request in flight, to this module's. */
  const outstanding = new Map<RequestId, string>();
  transport.send = async (message, options) => send(renamed(message), options);

  const renamed = (message: JSONRPCMessage): JSONRPCMessage => {
    if (isJSONRPCRequest(message)) {
      const sdkId = message.id;
      const id = `${direct.idPrefix}${++direct.sent}`;
      outstanding.set(sdkId, id);
      direct.asked.set(id, (answer) => {
        direct.asked.delete(id);
        outstanding.delete(sdkId);
        transport.onmessage?.({ ...answer, id: sdkId } as JSONRPCMessage);
      });
      return { ...message, id };
    }
    // The SDK cancels a request it stopped waiting for (timeout, abort) under its own id; the client knows the other.
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      const sdkId = message.params?.requestId as RequestId | undefined;
      const id = sdkId === undefined ? undefined : outstanding.get(sdkId);
      if (id === undefined || sdkId === undefined) return message;
      outstanding.delete(sdkId);
      direct.asked.delete(id);
      return { ...message, params: { ...message.params, requestId: id } };
    }
    return message;
  };
}
