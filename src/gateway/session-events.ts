import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Notifications } from '../store/index.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import type { ToolPins } from '../upstream/tool-pins.js';
import { connectsPerUser, type UpstreamEvent, type UpstreamRegistry } from '../upstream/types.js';
import { fleetLogs } from './fleet-logs.js';
import { upstreamVisibleTo } from './policy.js';
import type { Principal } from './principal.js';
import { VIRTUAL_SERVERS_CHANNEL } from './virtual-servers.js';

/**
 * What reaches open MCP sessions of the events of upstreams (list changes, log messages: those of every replica's
 * connections, fleet-logs.ts), of outbound OAuth (a user connected an upstream of their own) and of tool pins (a tool
 * withheld or approved). One subscription per source for all sessions: two listeners and two
 * unsubscribe functions of every session would cost each idle session a few hundred bytes.
 */

export interface GatewayLogger {
  warn(details: object, message: string): void;
}

/** One open session as events reach it: its server, for its principal. */
export interface SessionListener {
  server: Server;
  principal: Pick<Principal, 'userId' | 'username' | 'virtualServer'>;
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
    for (const { server, principal } of listeners) {
      if (event.subject === principal.userId && server.getClientVersion() !== undefined && server.transport) sent(server.sendToolListChanged());
    }
  });

  // A virtual server changed its tools (or was deleted): the sessions opened on it list again.
  const fromVirtualServers = notifications.subscribe(VIRTUAL_SERVERS_CHANNEL, (payload) => {
    const name = (payload as { name?: unknown } | null)?.name;
    for (const { server, principal } of listeners) {
      if (principal.virtualServer === name && server.getClientVersion() !== undefined && server.transport) sent(server.sendToolListChanged());
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

/** List changes and log messages of the upstreams this principal may use, to this session's client. */
function relayEvent({ server, principal }: SessionListener, registry: UpstreamRegistry, event: UpstreamEvent, sent: (promise: Promise<void>) => void): void {
  // Nothing goes to a client that has not finished initializing (or to a closed session).
  if (server.getClientVersion() === undefined || !server.transport) return;
  if (event.kind === 'upstreams_changed') {
    sent(server.sendToolListChanged());
    sent(server.sendResourceListChanged());
    sent(server.sendPromptListChanged());
    return;
  }
  const upstream = registry.get(event.upstreamId);
  if (!upstream || !upstreamVisibleTo(upstream.settings, principal)) return;
  if (event.kind === 'tools_changed') sent(server.sendToolListChanged());
  else if (event.kind === 'resources_changed') sent(server.sendResourceListChanged());
  else if (event.kind === 'prompts_changed') sent(server.sendPromptListChanged());
  else if (event.kind === 'log' && !connectsPerUser(upstream.settings)) {
    const params = LoggingMessageNotificationSchema.shape.params.safeParse(event.params);
    if (!params.success) return;
    // The logger names the upstream, so the client can tell whose message it is.
    const origin = params.data.logger === undefined ? upstream.settings.name : `${upstream.settings.name}/${params.data.logger}`;
    sent(server.sendLoggingMessage({ ...params.data, logger: origin }, server.transport.sessionId));
  }
}
