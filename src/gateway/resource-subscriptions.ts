import { EmptyResultSchema, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { connectsPerUser, type Upstream } from '../upstream/types.js';
import { availabilityOf, JsonRpcError, UpstreamError } from './forwarding.js';

/**
 * Subscriptions to resource updates, for a 2025 session's `resources/subscribe` and a 2026-07-28 stream's
 * `resourceSubscriptions`: one table per gateway (gateway-state.ts). Each resource is subscribed at its upstream once,
 * however many sessions and streams hold it, and unsubscribed there when the last lets go; the upstream's
 * `notifications/resources/updated` then reach the holders (session-events.ts asks `holds`). Only upstreams with one
 * connection for everybody are subscribed to: a per-user upstream's resources are each user's own.
 */

/** Whoever holds subscriptions: a session's listener or a listen stream's, compared by identity. */
export type SubscriptionHolder = object;

export interface ResourceSubscriptions {
  /** Subscribes `holder` to `uri` of `upstream`; throws the JSON-RPC error to answer when the upstream cannot. */
  subscribe(holder: SubscriptionHolder, upstream: Upstream, uri: string): Promise<void>;
  unsubscribe(holder: SubscriptionHolder, uri: string): Promise<void>;
  /** Everything `holder` held (its session or stream ended). */
  release(holder: SubscriptionHolder): void;
  holds(holder: SubscriptionHolder, upstreamId: string, uri: string): boolean;
  /** Whether `holder` holds any subscription. */
  holdsAny(holder: SubscriptionHolder): boolean;
}

interface Held {
  upstream: Upstream;
  uri: string;
  holders: Set<SubscriptionHolder>;
}

/**
 * Held per upstream and URI: which upstream serves a URI that several list depends on who asks (resource-owners.ts: the
 * first by name among those the caller may see), so two holders of one URI may be subscribed at two upstreams.
 */
const heldKey = (upstreamId: string, uri: string) => `${upstreamId}\n${uri}`;

export function resourceSubscriptions(onError: (upstream: Upstream, error: unknown) => void): ResourceSubscriptions {
  const table = new Map<string, Held>();

  const send = async (upstream: Upstream, method: 'resources/subscribe' | 'resources/unsubscribe', uri: string) => {
    const connection = availabilityOf(upstream);
    if ('unavailable' in connection) throw new UpstreamError(ErrorCode.InternalError, `Upstream "${upstream.settings.name}" is unavailable: ${connection.unavailable}`, upstream.settings.name);
    const timeoutMs = upstream.settings.timeout_ms;
    await connection.client.forward({ method, params: { uri } }, EmptyResultSchema, { signal: AbortSignal.timeout(timeoutMs), timeoutMs });
  };

  const drop = (holder: SubscriptionHolder, held: Held) => {
    if (!held.holders.delete(holder) || held.holders.size > 0) return;
    table.delete(heldKey(held.upstream.id, held.uri));
    send(held.upstream, 'resources/unsubscribe', held.uri).catch((error: unknown) => onError(held.upstream, error));
  };

  return {
    async subscribe(holder, upstream, uri) {
      const key = heldKey(upstream.id, uri);
      const held = table.get(key);
      if (held) {
        held.holders.add(holder);
        return;
      }
      const capabilities = availabilityOf(upstream);
      const offered = 'client' in capabilities && capabilities.client.getServerCapabilities()?.resources?.subscribe === true;
      if (connectsPerUser(upstream.settings) || !offered) {
        throw new JsonRpcError(ErrorCode.MethodNotFound, `Upstream "${upstream.settings.name}" offers no subscriptions to its resources`, { uri });
      }
      await send(upstream, 'resources/subscribe', uri);
      // Another holder may have subscribed meanwhile: the upstream was then asked twice, which it takes as once.
      const now = table.get(key) ?? { upstream, uri, holders: new Set<SubscriptionHolder>() };
      now.holders.add(holder);
      table.set(key, now);
    },
    async unsubscribe(holder, uri) {
      for (const held of [...table.values()]) if (held.uri === uri) drop(holder, held);
    },
    release(holder) {
      for (const held of [...table.values()]) drop(holder, held);
    },
    holds: (holder, upstreamId, uri) => table.get(heldKey(upstreamId, uri))?.holders.has(holder) === true,
    holdsAny: (holder) => [...table.values()].some((held) => held.holders.has(holder)),
  };
}
