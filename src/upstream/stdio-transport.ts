import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type JSONRPCMessage, type Progress, type Result } from '@modelcontextprotocol/sdk/types.js';
import { NoAnswer, type DirectRequestHooks, type DirectRequests } from './streamable-http/direct-requests.js';
import { isJsonObject, type JsonObject } from '../json-object.js';
import { META, withProgressToken, withRequestMeta, type StatelessIdentity } from './streamable-http/protocol-eras.js';

/**
 * A stdio upstream of either era (basic/transports/stdio "Backward Compatibility"): a dual-era client probes with
 * `server/discover` before any other request, and falls back to `initialize` on any answer that is not a modern one,
 * or on none. One child process and its one channel serve both:
 * - `direct`: requests of the stateless era (2026-07-28) written on the channel and matched to their responses by id:
 *   the probe, and every request when the upstream is stateless. Per-request `_meta`, no headers (stdio has none),
 *   progress by token, cancellation as `notifications/cancelled` (stdio has no stream to close). A notification
 *   that names a pending `subscriptions/listen` in its subscription id goes to that request's `onNotification` (the
 *   stream's own, as an HTTP stream's would); other notifications (log messages) go to `transport.onmessage`, as on the
 *   HTTP direct path.
 * - `transport`: what the SDK client connects to when the upstream is of the session era. Its `start` hands the
 *   channel over to the SDK for good (the child is already running when the probe ran).
 */

const connectionClosed = () => new NoAnswer(ErrorCode.ConnectionClosed, 'Connection closed');
/** setTimeout's largest delay (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Pending {
  hooks: DirectRequestHooks;
  resolve(result: Result): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
  onAbort(): void;
}

export function openStdio(child: StdioClientTransport): { transport: Transport; direct: DirectRequests } {
  const pending = new Map<string, Pending>();
  let started: Promise<void> | undefined;
  let handedOver = false;
  let identity: StatelessIdentity | undefined;
  let closed = false;
  let nextId = 0;

  const transport: Transport = {
    // The SDK connects only to a session-era upstream: from here on the channel is its own.
    start: async () => {
      handedOver = true;
      await (started ??= child.start());
    },
    send: (message) => child.send(message),
    close: () => child.close(),
  };

  const settle = (id: string, outcome: { result: Result } | { error: unknown }) => {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    clearTimeout(call.timer);
    call.hooks.signal.removeEventListener('abort', call.onAbort);
    if ('result' in outcome) call.resolve(outcome.result);
    else call.reject(outcome.error);
  };

  const received = (message: JSONRPCMessage) => {
    if (handedOver) return transport.onmessage?.(message);
    const { id, method, params, result, error } = message as { id?: unknown; method?: unknown; params?: JsonObject; result?: Result; error?: JsonObject };
    if (typeof method === 'string' && id !== undefined) {
      // A stateless server sends no requests on stdio ("Receiving Messages"): refused.
      void child.send({ jsonrpc: '2.0', id: id as string, error: { code: ErrorCode.MethodNotFound, message: 'Method not found' } }).catch(() => undefined);
    } else if (method === 'notifications/progress' && typeof params?.progressToken === 'string' && pending.has(params.progressToken)) {
      const { progressToken, ...progress } = params;
      pending.get(progressToken)!.hooks.onProgress?.(progress as Progress);
    } else if (typeof method === 'string') {
      // On stdio every subscription shares the channel: its id says whose a notification is (basic/patterns/subscriptions).
      const subscription = isJsonObject(params?._meta) ? params._meta[META.subscriptionId] : undefined;
      const listener = typeof subscription === 'string' ? pending.get(subscription)?.hooks.onNotification : undefined;
      if (listener) listener(message);
      else transport.onmessage?.(message);
    } else if (typeof id === 'string') {
      if (!isJsonObject(error)) return settle(id, { result: result ?? {} });
      const code = typeof error.code === 'number' ? error.code : ErrorCode.InternalError;
      settle(id, { error: McpError.fromError(code, typeof error.message === 'string' ? error.message : 'Unknown error', error.data) });
    }
  };
  child.onmessage = received;
  child.onerror = (error) => transport.onerror?.(error);
  child.onclose = () => {
    closed = true;
    for (const id of [...pending.keys()]) settle(id, { error: connectionClosed() });
    transport.onclose?.();
  };

  const direct: DirectRequests = {
    async request(message, hooks) {
      if (closed || handedOver) throw connectionClosed();
      await (started ??= child.start());
      if (hooks.signal.aborted) throw hooks.signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
      const id = `gatehouse-${++nextId}`;
      let params = message.params;
      if (hooks.onProgress) params = withProgressToken(params, id);
      if (identity) params = withRequestMeta(params, identity, hooks.clientCapabilities ?? {}, hooks.logLevel);
      return new Promise<Result>((resolve, reject) => {
        const cancel = (reason: string, error: unknown) => {
          settle(id, { error });
          // stdio has no stream to close: the server is told (basic/transports/stdio "Cancellation").
          void child.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }).catch(() => undefined);
        };
        const onAbort = () => {
          const reason: unknown = hooks.signal.reason;
          cancel(reason instanceof Error ? reason.message : String(reason), reason ?? new DOMException('This operation was aborted', 'AbortError'));
        };
        const timer = setTimeout(() => cancel('Request timed out', new NoAnswer(ErrorCode.RequestTimeout, 'Request timed out', { timeout: hooks.timeoutMs })), Math.min(hooks.timeoutMs, MAX_TIMER_MS));
        pending.set(id, { hooks, resolve, reject, timer, onAbort });
        hooks.signal.addEventListener('abort', onAbort, { once: true });
        child.send({ jsonrpc: '2.0', id, method: message.method, ...(params === undefined ? {} : { params }) }).catch((error: unknown) => settle(id, { error }));
      });
    },
    speakStateless(speaking) {
      identity = speaking;
    },
    protocolVersion: () => identity?.protocolVersion,
    close() {
      if (!handedOver) void child.close();
    },
  };
  return { transport, direct };
}
