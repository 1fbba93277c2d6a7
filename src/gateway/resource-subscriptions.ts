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
  holders: Set<SubscriptionHolder>;
}

export function resourceSubscriptions(onError: (upstream: Upstream, error: unknown) => void): ResourceSubscriptions {
  const byUri = new Map<string, Held>();

  const send = async (upstream: Upstream, method: 'resources/subscribe' | 'resources/unsubscribe', uri: string) => {
    const connection = availabilityOf(upstream);
    if ('unavailable' in connection) throw new UpstreamError(ErrorCode.InternalError, `Upstream "${upstream.settings.name}" is unavailable: ${connection.unavailable}`, upstream.settings.name);
    const timeoutMs = upstream.settings.timeout_ms;
    await connection.client.forward({ method, params: { uri } }, EmptyResultSchema, { signal: AbortSignal.timeout(timeoutMs), timeoutMs });
  };

  const drop = (holder: SubscriptionHolder, uri: string) => {
    const held = byUri.get(uri);
    if (!held?.holders.delete(holder) || held.holders.size > 0) return;
    byUri.delete(uri);
    send(held.upstream, 'resources/unsubscribe', uri).catch((error: unknown) => onError(held.upstream, error));
  };

  return {
    async subscribe(holder, upstream, uri) {
      const held = byUri.get(uri);
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
      const now = byUri.get(uri) ?? { upstream, holders: new Set<SubscriptionHolder>() };
      now.holders.add(holder);
      byUri.set(uri, now);
    },
    async unsubscribe(holder, uri) {
      drop(holder, uri);
    },
    release(holder) {
      for (const [uri, held] of [...byUri]) if (held.holders.has(holder)) drop(holder, uri);
    },
    holds: (holder, upstreamId, uri) => {
      const held = byUri.get(uri);
      return held !== undefined && held.upstream.id === upstreamId && held.holders.has(holder);
    },
    holdsAny: (holder) => [...byUri.values()].some((held) => held.holders.has(holder)),
  };
}
