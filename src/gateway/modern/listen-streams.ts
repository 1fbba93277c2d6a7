import type { ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { META } from '../../upstream/streamable-http/protocol-eras.js';
import type { GatewayOperations } from '../gateway-operations.js';
import type { Principal } from '../principal.js';
import type { ResourceSubscriptions } from '../resource-subscriptions.js';
import type { ListKindChanged, SessionEvents, SessionListener } from '../session-events.js';

/**
 * `subscriptions/listen` of MCP 2026-07-28 (basic/patterns/subscriptions), which replaces the GET stream: an SSE
 * response that first acknowledges the filter the gateway honours, then carries only the notifications the client
 * asked for, each tagged with the subscription id (the request's id). The stream joins the same event fan-out as
 * 2025 sessions (session-events.ts) and holds its resource subscriptions as a session does (resource-subscriptions.ts);
 * closing it is the client's cancellation, and the gateway's shutdown ends it with the completion result.
 */

/** The list changes a client may ask for, by the filter field that asks. */
const LIST_FILTERS: Record<ListKindChanged, 'toolsListChanged' | 'resourcesListChanged' | 'promptsListChanged'> = {
  tools: 'toolsListChanged',
  resources: 'resourcesListChanged',
  prompts: 'promptsListChanged',
};

export type SubscriptionFilter = Partial<Record<(typeof LIST_FILTERS)[ListKindChanged], boolean>> & { resourceSubscriptions?: string[] };

export interface ListenStreams {
  /**
   * Answers a `subscriptions/listen` request on `response`, which stays open until the client or the gateway closes it;
   * `operations` subscribe to the resources it names.
   */
  open(principal: Pick<Principal, 'userId' | 'username'>, id: RequestId, filter: SubscriptionFilter, response: ServerResponse, operations: Pick<GatewayOperations, 'subscribe'>): Promise<void>;
  readonly size: number;
  /** Ends every stream with its completion result (the gateway is shutting down). */
  closeAll(): void;
}

export function listenStreams(events: Pick<SessionEvents, 'add' | 'delete'>, subscriptions: Pick<ResourceSubscriptions, 'holds' | 'release'>): ListenStreams {
  const open = new Set<() => void>();
  return {
    get size() {
      return open.size;
    },
    async open(principal, id, filter, response, operations) {
      const tag = { [META.subscriptionId]: id };
      const write = (message: object) => response.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...message })}\n\n`);
      const live = () => !response.writableEnded && !response.destroyed;
      const listener: SessionListener = {
        principal,
        sink: {
          ready: live,
          async listChanged(kind) {
            if (live() && filter[LIST_FILTERS[kind]] === true) write({ method: `notifications/${kind}/list_changed`, params: { _meta: tag } });
          },
          async resourceUpdated(upstreamId, uri) {
            if (live() && subscriptions.holds(listener, upstreamId, uri)) write({ method: 'notifications/resources/updated', params: { uri, _meta: tag } });
          },
        },
      };
      // A resource nobody offers, or whose upstream offers no subscriptions, is left out of the acknowledgement.
      const subscribed: string[] = [];
      for (const uri of new Set(filter.resourceSubscriptions ?? [])) {
        if (await operations.subscribe(listener, uri).then(() => true, () => false)) subscribed.push(uri);
      }
      const end = () => {
        if (live()) write({ id, result: { resultType: 'complete', _meta: tag } });
        response.end();
      };
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      write({ method: 'notifications/subscriptions/acknowledged', params: { _meta: tag, notifications: { ...honoured(filter), ...(subscribed.length > 0 ? { resourceSubscriptions: subscribed } : {}) } } });
      events.add(listener);
      open.add(end);
      const closed = () => {
        events.delete(listener);
        subscriptions.release(listener);
        open.delete(end);
      };
      if (response.destroyed) closed();
      else response.once('close', closed);
    },
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}

/** The list changes of a filter the gateway honours (all three); resource subscriptions are acknowledged as made. */
function honoured(filter: SubscriptionFilter): SubscriptionFilter {
  return Object.fromEntries(Object.values(LIST_FILTERS).filter((field) => filter[field] === true).map((field) => [field, true]));
}
