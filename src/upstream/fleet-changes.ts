import { z } from 'zod';
import type { Notifications } from '../store/index.js';
import type { OutboundOAuth } from './oauth/outbound-oauth.js';
import type { ToolPins } from './tool-pins.js';
import type { UpstreamRegistry } from './types.js';
import type { RegistryControl } from './upstream-service.js';

/**
 * Upstream changes between the replicas of a fleet, within a second: an upstream created, changed or deleted
 * through one replica is re-read by the others, a connection authorized on one is picked up by the others
 * (reconnect, `tools/list_changed` to the user's sessions), and a tool approved on one is served by the others. A replica that misses a message (its connection to
 * PostgreSQL dropped) catches up with the slow reconciliation: the registry's re-read and the follower of stored
 * authorizations, every FLEET_RECONCILE_MS.
 */

export const FLEET_RECONCILE_MS = 30_000;

const UPSTREAMS_CHANNEL = 'upstreams';
const AUTHORIZATIONS_CHANNEL = 'upstream_authorizations';
const APPROVALS_CHANNEL = 'tool_approvals';

const UpstreamChanged = z.object({ id: z.string() });
const ConnectionAuthorized = z.object({ upstreamId: z.string(), subject: z.string() });
const ToolApproved = z.object({ upstreamId: z.string(), tool: z.string() });

/**
 * The registry as the management API drives it, each applied change also announced to the other replicas. An
 * announcement that fails (the database just took the change, so this is rare) is not the caller's failure: the
 * others catch up at their next reconciliation.
 */
export function announcingRegistry(registry: RegistryControl, notifications: Pick<Notifications, 'publish'>): RegistryControl {
  return {
    statusOf: (id) => registry.statusOf(id),
    reconnect: (id) => registry.reconnect(id),
    async refresh(id) {
      await registry.refresh(id);
      await notifications.publish(UPSTREAMS_CHANNEL, { id }).catch(() => undefined);
    },
  };
}

/** What follows the other replicas' changes on this one. */
export interface FleetFollowers {
  registry: Pick<RegistryControl, 'refresh'> & Pick<UpstreamRegistry, 'get'>;
  outbound: Pick<OutboundOAuth, 'subscribe' | 'authorizedElsewhere'>;
  toolPins: Pick<ToolPins, 'subscribe' | 'approvedElsewhere'>;
}

/** Announces this replica's authorizations and tool approvals, and follows the others' changes; returns the stop function. */
export function followFleetChanges(notifications: Notifications, { registry, outbound, toolPins }: FleetFollowers, onError: (error: unknown) => void): () => void {
  const stops = [
    notifications.subscribe(UPSTREAMS_CHANNEL, (payload, { fromThisProcess }) => {
      const change = UpstreamChanged.safeParse(payload);
      if (!fromThisProcess && change.success) void registry.refresh(change.data.id).catch(onError);
    }),
    notifications.subscribe(AUTHORIZATIONS_CHANNEL, (payload, { fromThisProcess }) => {
      const authorized = ConnectionAuthorized.safeParse(payload);
      if (!fromThisProcess && authorized.success) outbound.authorizedElsewhere(authorized.data.upstreamId, authorized.data.subject);
    }),
    outbound.subscribe((event) => {
      if (event.kind !== 'authorized' || event.elsewhere) return;
      void notifications.publish(AUTHORIZATIONS_CHANNEL, { upstreamId: event.upstreamId, subject: event.subject }).catch(onError);
    }),
    // A tool approved through one replica is called and listed on the others at once (their pins are read again).
    notifications.subscribe(APPROVALS_CHANNEL, (payload, { fromThisProcess }) => {
      const approved = ToolApproved.safeParse(payload);
      const upstream = !fromThisProcess && approved.success ? registry.get(approved.data.upstreamId) : undefined;
      if (upstream && approved.success) void toolPins.approvedElsewhere(upstream, approved.data.tool).catch(onError);
    }),
    toolPins.subscribe((event) => {
      if (event.kind !== 'approved' || event.elsewhere) return;
      void notifications.publish(APPROVALS_CHANNEL, { upstreamId: event.upstream.id, tool: event.tool }).catch(onError);
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
