import type { ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../principal.js';
import type { ListKindChanged, SessionEvents, SessionListener } from '../session-events.js';

/**
 * `subscriptions/listen` of MCP 2026-07-28 (basic/patterns/subscriptions), which replaces the GET stream: an SSE
 * response that first acknowledges the filter the gateway honours, then carries only the notifications the client
 * asked for, each tagged with the subscription id (the request's id). The stream joins the same event fan-out as
 * 2025 sessions (session-events.ts); closing it is the client's cancellation, and the gateway's shutdown ends it with
 * the completion result.
 */

const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** The list changes a client may ask for, by the filter field that asks. */
const LIST_FILTERS: Record<ListKindChanged, 'toolsListChanged' | 'resourcesListChanged' | 'promptsListChanged'> = {
  tools: 'toolsListChanged',
  resources: 'resourcesListChanged',
  prompts: 'promptsListChanged',
};

export type SubscriptionFilter = Partial<Record<(typeof LIST_FILTERS)[ListKindChanged], boolean>> & { resourceSubscriptions?: string[] };

export interface ListenStreams {
  /** Answers a `subscriptions/listen` request on `response`, which stays open until the client or the gateway closes it. */
  open(principal: Pick<Principal, 'userId' | 'username'>, id: RequestId, filter: SubscriptionFilter, response: ServerResponse): void;
  readonly size: number;
  /** Ends every stream with its completion result (the gateway is shutting down). */
  closeAll(): void;
}

export function listenStreams(events: Pick<SessionEvents, 'add' | 'delete'>): ListenStreams {
  const open = new Set<() => void>();
  return {
    get size() {
      return open.size;
    },
    open(principal, id, filter, response) {
      const tag = { [SUBSCRIPTION_ID]: id };
      const write = (message: object) => response.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...message })}\n\n`);
      const live = () => !response.writableEnded && !response.destroyed;
      const listener: SessionListener = {
        principal,
        sink: {
          ready: live,
          async listChanged(kind) {
            if (live() && filter[LIST_FILTERS[kind]] === true) write({ method: `notifications/${kind}/list_changed`, params: { _meta: tag } });
          },
        },
      };
      const end = () => {
        if (live()) write({ id, result: { resultType: 'complete', _meta: tag } });
        response.end();
      };
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      write({ method: 'notifications/subscriptions/acknowledged', params: { _meta: tag, notifications: honoured(filter) } });
      events.add(listener);
      open.add(end);
      response.once('close', () => {
        events.delete(listener);
        open.delete(end);
      });
    },
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}

/** The part of a filter the gateway honours: list changes. Resource updates are not offered (no subscriptions upstream). */
function honoured(filter: SubscriptionFilter): SubscriptionFilter {
  return Object.fromEntries(Object.values(LIST_FILTERS).filter((field) => filter[field] === true).map((field) => [field, true]));
}
