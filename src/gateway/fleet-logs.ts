import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Notifications } from '../store/index.js';

/**
 * Upstream log messages (`notifications/message`) across the replicas of a fleet. Each replica has its own
 * connection to a shared upstream, and an upstream sends some messages on one connection only (those of a call it
 * serves go on that call's stream): the replica that received one announces it, and every replica hands it to the
 * sessions whose GET stream it holds. An upstream that sends a message to all its connections reaches every replica
 * at once, and each of them announces it; so a replica delivers as many copies of one message, within a short
 * window, as the replica that received it most often did: once for a broadcast, every time for a message repeated
 * on one connection.
 */

const UPSTREAM_LOGS_CHANNEL = 'upstream_logs';
/** How long copies of one message are counted together: far longer than a NOTIFY takes, far shorter than a log's pace matters. */
const LOG_COPY_WINDOW_MS = 2_000;

export interface UpstreamLog {
  upstreamId: string;
  params: unknown;
}

const Announced = z.object({ replica: z.string(), upstreamId: z.string(), params: z.unknown() });

export interface FleetLogs {
  /** A message this replica's connection to the upstream received. */
  received(log: UpstreamLog): void;
  stop(): void;
}

/** `deliver` hands one message to this replica's sessions. */
export function fleetLogs(
  notifications: Pick<Notifications, 'publish' | 'subscribe'>,
  deliver: (log: UpstreamLog) => void,
  onError: (error: unknown) => void,
  now: () => number = Date.now,
): FleetLogs {
  const replica = randomUUID();
  const copies = copyCounter(now);
  /** Announced one after the other, so that the others deliver them in the order this replica received them. */
  let announced: Promise<void> = Promise.resolve();
  const arrived = (origin: string, log: UpstreamLog) => {
    if (copies.isNew(origin, log)) deliver(log);
  };
  const stop = notifications.subscribe(UPSTREAM_LOGS_CHANNEL, (payload, { fromThisProcess }) => {
    const announced = Announced.safeParse(payload);
    if (!fromThisProcess && announced.success) arrived(announced.data.replica, { upstreamId: announced.data.upstreamId, params: announced.data.params });
  });
  return {
    received(log) {
      arrived(replica, log);
      announced = announced.then(() => notifications.publish(UPSTREAM_LOGS_CHANNEL, { replica, ...log })).catch(onError);
    },
    stop,
  };
}

/**
 * Per message (its upstream and params), how many copies each replica announced and how many were delivered, for
 * LOG_COPY_WINDOW_MS from the first: a copy is new when its replica has now announced more than were delivered.
 */
function copyCounter(now: () => number) {
  const seen = new Map<string, { until: number; delivered: number; byReplica: Map<string, number> }>();
  return {
    isNew(origin: string, log: UpstreamLog): boolean {
      const at = now();
      // In insertion order, so the oldest windows come first.
      for (const [key, entry] of seen) {
        if (entry.until > at) break;
        seen.delete(key);
      }
      const key = JSON.stringify([log.upstreamId, log.params]);
      let entry = seen.get(key);
      if (!entry) seen.set(key, (entry = { until: at + LOG_COPY_WINDOW_MS, delivered: 0, byReplica: new Map() }));
      const copies = (entry.byReplica.get(origin) ?? 0) + 1;
      entry.byReplica.set(origin, copies);
      if (copies <= entry.delivered) return false;
      entry.delivered = copies;
      return true;
    },
  };
}
