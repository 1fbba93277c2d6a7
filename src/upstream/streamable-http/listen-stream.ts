import { ErrorCode, McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { DirectRequests } from './direct-requests.js';
import { refuse } from './stateless-requests.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';

/**
 * The one `subscriptions/listen` stream Gatehouse holds on a stateless (2026-07-28) upstream connection
 * (basic/patterns/subscriptions). Its filter asks for the list changes the upstream announces in its capabilities and
 * for updates of the resources the gateway's subscriptions hold there: gateway/resource-subscriptions.ts sends
 * `resources/subscribe`/`unsubscribe` as to any upstream, and UpstreamClient turns them into a change of this filter.
 * What arrives on the stream goes where the session era's notifications go (`deliver`: the client's list changes and
 * `resource_updated` events), except the acknowledgement, which says what the upstream agreed to send.
 * A stream's filter is fixed for its life, so a change opens a stream with the new filter and closes the old one once
 * the new one is acknowledged: no update is missed in between (one may come twice, which a holder takes as one).
 * A stream that ends, with its response (graceful closure) or without, is opened again after a growing delay; a lost
 * upstream is the connection's to notice (the dropped stream is reported to it, connection.ts probes).
 */

const RETRY = { initialMs: 1000, maxMs: 30_000 };
/** How long a new stream's acknowledgement is waited for before the change is given up (the stream is kept). */
const ACKNOWLEDGEMENT_WAIT_MS = 30_000;
const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';


/** The list changes to ask for, from what `capabilities` says changes (the filter's boolean fields). */
export function listChangesFilter(capabilities: JsonObject): JsonObject {
  const listChanged = (kind: string) => isJsonObject(capabilities[kind]) && (capabilities[kind] as JsonObject).listChanged === true;
  const filter: JsonObject = {};
  if (listChanged('tools')) filter.toolsListChanged = true;
  if (listChanged('prompts')) filter.promptsListChanged = true;
  if (listChanged('resources')) filter.resourcesListChanged = true;
  return filter;
}

export interface ListenStream {
  /** Adds `uri` to the filter; resolves once the upstream acknowledged it, throws when the upstream will not send its updates. */
  subscribe(uri: string, signal: AbortSignal): Promise<void>;
  /** Takes `uri` out of the filter; resolves once the stream without it is acknowledged. */
  unsubscribe(uri: string, signal: AbortSignal): Promise<void>;
  /** Ends the stream for good (the connection closed). */
  close(): void;
}

interface Stream {
  controller: AbortController;
  /** The acknowledged filter; rejects when the stream ended first. */
  acknowledged: Promise<JsonObject>;
}

/** Waits for `promise`, but no longer than `signal` allows. */
function until<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Holds the stream on `direct` for `listChanges` and the subscribed resources; opens it at once when there is something to ask for. */
export function listenStream(direct: DirectRequests, listChanges: JsonObject, deliver: (message: JSONRPCMessage) => void): ListenStream {
  const uris = new Set<string>();
  let current: Stream | undefined;
  let closed = false;
  let delay = RETRY.initialMs;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Filter changes, one after the other: each waits for the stream before it to be replaced. */
  let changes: Promise<unknown> = Promise.resolve();
  /** The change waiting for its turn: later changes join it (it reads the filter when it starts). */
  let queued: Promise<JsonObject | undefined> | undefined;

  const filter = (): JsonObject | undefined => {
    const wanted = uris.size > 0 ? { ...listChanges, resourceSubscriptions: [...uris] } : listChanges;
    return Object.keys(wanted).length > 0 ? wanted : undefined;
  };

  const open = (notifications: JsonObject): Stream => {
    const controller = new AbortController();
    let acknowledge!: (filter: JsonObject) => void;
    let refuseAck!: (error: unknown) => void;
    const acknowledged = new Promise<JsonObject>((resolve, reject) => ((acknowledge = resolve), (refuseAck = reject)));
    acknowledged.catch(() => undefined);
    const stream: Stream = { controller, acknowledged };
    const opened = Date.now();
    const onNotification = (message: JSONRPCMessage) => {
      if (!('method' in message) || message.method !== ACKNOWLEDGED) return deliver(message);
      const agreed = isJsonObject(message.params) && isJsonObject(message.params.notifications) ? message.params.notifications : {};
      acknowledge(agreed);
    };
    const ended = (error: unknown) => {
      refuseAck(error ?? new McpError(ErrorCode.ConnectionClosed, 'the upstream ended its listen stream before acknowledging it'));
      if (closed || controller.signal.aborted || current !== stream) return;
      // A stream that stayed up a while ended normally: start over from the shortest delay.
      if (Date.now() - opened > RETRY.maxMs) delay = RETRY.initialMs;
      retryTimer = setTimeout(() => void change(), delay).unref();
      delay = Math.min(delay * 2, RETRY.maxMs);
    };
    direct
      .request({ method: 'subscriptions/listen', params: { notifications } }, { signal: controller.signal, timeoutMs: Number.POSITIVE_INFINITY, onServerRequest: refuse, onNotification })
      .then(() => ended(undefined), ended);
    return stream;
  };

  /** Replaces the stream with one for the filter as it is now (none when there is nothing to ask for); its acknowledgement. */
  const replace = async (): Promise<JsonObject | undefined> => {
    clearTimeout(retryTimer);
    if (closed) return undefined;
    const previous = current;
    const notifications = filter();
    current = notifications ? open(notifications) : undefined;
    try {
      // A stream never acknowledged (a server breaking that MUST) does not hold up the changes after it.
      return current ? await until(current.acknowledged, AbortSignal.timeout(ACKNOWLEDGEMENT_WAIT_MS)) : undefined;
    } finally {
      previous?.controller.abort();
    }
  };
  /**
   * A replacement after those under way, or the one already waiting (subscriptions made together open one stream).
   * Its promise is handled here (the next change waits on it), so a failed retry nobody awaits throws nowhere.
   */
  const change = (): Promise<JsonObject | undefined> => {
    if (queued) return queued;
    const start = () => {
      queued = undefined;
      return replace();
    };
    const next = changes.then(start, start);
    queued = next;
    changes = next.catch(() => undefined);
    return next;
  };

  if (filter()) void change();

  return {
    async subscribe(uri, signal) {
      uris.add(uri);
      try {
        const agreed = await until(change(), signal);
        const honoured = Array.isArray(agreed?.resourceSubscriptions) && agreed.resourceSubscriptions.includes(uri);
        if (!honoured) throw new McpError(ErrorCode.InvalidParams, `the upstream sends no updates of ${uri}`);
      } catch (error) {
        uris.delete(uri);
        void change();
        throw error;
      }
    },
    async unsubscribe(uri, signal) {
      if (uris.delete(uri)) await until(change(), signal);
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      current?.controller.abort();
      current = undefined;
    },
  };
}
