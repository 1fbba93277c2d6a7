import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Notifications } from '../store/index.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import type { ToolPins } from '../upstream/tool-pins.js';
import { connectsPerUser, type UpstreamEvent, type UpstreamRegistry } from '../upstream/types.js';
import { fleetLogs } from './fleet-logs.js';
import { upstreamVisibleTo } from './policy.js';
import type { Principal } from './principal.js';
import { VIRTUAL_SERVERS_CHANNEL } from '../store/index.js';

/**
 * What reaches open MCP sessions (2025) and `subscriptions/listen` streams (2026-07-28) of the events of upstreams
 * (list changes, log messages: those of every replica's connections, fleet-logs.ts), of outbound OAuth (a user connected an upstream of their own) and of tool pins (a tool
 * withheld or approved). One subscription per source for all listeners: two listeners and two unsubscribe functions of
 * every session would cost each idle session a few hundred bytes.
 */

export interface GatewayLogger {
  warn(details: object, message: string): void;
}

export type ListKindChanged = 'tools' | 'resources' | 'prompts';

/** Where one listener's notifications go: a session's SDK server, or a listen stream. */
export interface EventSink {
  /** Whether the client takes notifications now (a session that finished initializing, a stream still open). */
  ready(): boolean;
  listChanged(kind: ListKindChanged): Promise<void>;
  /** An upstream's log message; absent: this listener takes none. */
  log?(params: LoggingMessageNotification['params']): Promise<void>;
  /** An upstream's resource changed; the sink sends it on if its holder subscribed to it there. */
  resourceUpdated?(upstreamId: string, uri: string): Promise<void>;
}

/** One listener as events reach it: where its notifications go, for its principal. */
export interface SessionListener {
  sink: EventSink;
  principal: Pick<Principal, 'userId' | 'username' | 'virtualServer'>;
}

/** The sink of a 2025 session: its SDK server. */
export function serverSink(server: Server): EventSink {
  const sends: Record<ListKindChanged, () => Promise<void>> = {
    tools: () => server.sendToolListChanged(),
    resources: () => server.sendResourceListChanged(),
    prompts: () => server.sendPromptListChanged(),
  };
  return {
    // Nothing goes to a client that has not finished initializing (or to a closed session).
    ready: () => server.getClientVersion() !== undefined && server.transport !== undefined,
    listChanged: (kind) => sends[kind](),
    log: (params) => server.sendLoggingMessage(params, server.transport?.sessionId),
  };
}

export interface SessionEvents {
  add(listener: SessionListener): void;
  delete(listener: SessionListener): void;
  /** Ends the subscriptions (when the gateway closes). */
  close(): void;
}

export interface EventSources {
  registry: UpstreamRegistry;
  outbound: Pick<OutboundOAuth, 'subscribe'>;
  pins: Pick<ToolPins, 'subscribe'>;
  /** The fleet's messages: upstream log messages (fleet-logs.ts) and changed virtual servers, from any replica. */
  notifications: Pick<Notifications, 'publish' | 'subscribe'>;
}

export function sessionEvents({ registry, outbound, pins, notifications }: EventSources, logger: GatewayLogger): SessionEvents {
  const listeners = new Set<SessionListener>();
  const sent = (promise: Promise<void>) => void promise.catch((error: unknown) => logger.warn({ error: String(error) }, 'relaying to an MCP session failed'));

  const relay = (event: UpstreamEvent) => {
    for (const listener of listeners) {
      try {
        relayEvent(listener, registry, event, sent);
      } catch {
        // As the registry does for its listeners: one session's failure must not keep the event from the others.
      }
    }
  };
  const logs = fleetLogs(notifications, (log) => relay({ kind: 'log', ...log }), (error) => logger.warn({ error: String(error) }, 'announcing an upstream log message failed'));
  const fromRegistry = registry.subscribe((event) => {
    if (event.kind !== 'log') return relay(event);
    // A per-user upstream's shared connection lists with some user's own account: its messages may be about that
    // user, so they go to nobody.
    const upstream = registry.get(event.upstreamId);
    if (upstream && !connectsPerUser(upstream.settings)) logs.received({ upstreamId: event.upstreamId, params: event.params });
  });
  // A tool withheld or approved changes what the upstream's users may list.
  const fromPins = pins.subscribe((event) => relay({ kind: 'tools_changed', upstreamId: event.upstream.id }));
  // The user connected an upstream of their own (perhaps in the middle of a session): its tools work now.
  const fromOutbound = outbound.subscribe((event) => {
    if (event.kind !== 'authorized') return;
    for (const { sink, principal } of listeners) {
      if (event.subject === principal.userId && sink.ready()) sent(sink.listChanged('tools'));
    }
  });

  // A virtual server changed its tools (or was deleted): the sessions opened on it list again.
  const fromVirtualServers = notifications.subscribe(VIRTUAL_SERVERS_CHANNEL, (payload) => {
    const name = (payload as { name?: unknown } | null)?.name;
    for (const { sink, principal } of listeners) {
      if (principal.virtualServer === name && sink.ready()) sent(sink.listChanged('tools'));
    }
  });

  return {
    add: (listener) => void listeners.add(listener),
    delete: (listener) => void listeners.delete(listener),
    close() {
      fromRegistry();
      logs.stop();
      fromOutbound();
      fromPins();
      fromVirtualServers();
      listeners.clear();
    },
  };
}

/** List changes and log messages of the upstreams this principal may use, to this listener's client. */
function relayEvent({ sink, principal }: SessionListener, registry: UpstreamRegistry, event: UpstreamEvent, sent: (promise: Promise<void>) => void): void {
  if (!sink.ready()) return;
  if (event.kind === 'upstreams_changed') {
    for (const kind of ['tools', 'resources', 'prompts'] as const) sent(sink.listChanged(kind));
    return;
  }
  const upstream = registry.get(event.upstreamId);
  if (!upstream || !upstreamVisibleTo(upstream.settings, principal)) return;
  if (event.kind === 'tools_changed') sent(sink.listChanged('tools'));
  else if (event.kind === 'resources_changed') sent(sink.listChanged('resources'));
  else if (event.kind === 'prompts_changed') sent(sink.listChanged('prompts'));
  else if (event.kind === 'resource_updated') {
    if (sink.resourceUpdated) sent(sink.resourceUpdated(upstream.id, event.uri));
  }
  // A per-user upstream's shared connection lists with some user's own account: its messages may be about that
  // user, so they go to nobody.
  else if (event.kind === 'log' && sink.log && !connectsPerUser(upstream.settings)) {
    const params = LoggingMessageNotificationSchema.shape.params.safeParse(event.params);
    if (!params.success) return;
    // The logger names the upstream, so the client can tell whose message it is.
    const origin = params.data.logger === undefined ? upstream.settings.name : `${upstream.settings.name}/${params.data.logger}`;
    sent(sink.log({ ...params.data, logger: origin }));
  }
}
