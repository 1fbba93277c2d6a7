import { openInItsEra } from './connection.js';
import type { BearerSource } from './oauth/bearer-fetch.js';
import { openTransport, type OpenedTransport } from './transports.js';
import type { Upstream, UpstreamSettings } from './types.js';
import { UpstreamClient } from './upstream-client.js';

/**
 * Connections of per-user upstreams, one per (upstream, user), each carrying that user's own upstream token, kept
 * open and reused across calls: bounded (the least recently used is closed first) and closed after an idle time.
 */

export interface PerUserPoolOptions {
  /** The token source of `userId`'s connection to `upstream`. */
  bearer(upstream: Upstream, userId: string): BearerSource;
  maxSize: number;
  idleMs: number;
  clientVersion: string;
  now?: () => number;
}

interface Entry {
  upstreamId: string;
  /** The settings the connection was made with: a changed upstream gets a new connection. */
  settings: UpstreamSettings;
  bearer: BearerSource;
  ready: Promise<{ client: UpstreamClient; opened: OpenedTransport }>;
  lastUsed: number;
}

export function createPerUserPool(options: PerUserPoolOptions) {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const keyOf = (upstreamId: string, userId: string) => `${upstreamId}\0${userId}`;

  const release = async (key: string, entry: Entry) => {
    if (entries.get(key) === entry) entries.delete(key);
    const made = await entry.ready.catch(() => undefined);
    await made?.client.close().catch(() => undefined);
    await made?.opened.release().catch(() => undefined);
  };

  const connect = async (key: string, upstream: Upstream, bearer: BearerSource) => {
    const opened = await openTransport(upstream.settings, {}, bearer);
    const client = new UpstreamClient(options.clientVersion, { streamableHttp: upstream.settings.connection_type === 'http' });
    client.onclose = () => {
      const entry = entries.get(key);
      if (entry) entries.delete(key);
    };
    try {
      // In the upstream's era, as the shared connection (a 2026-07-28 upstream takes no initialize).
      await openInItsEra(client, opened, upstream.settings.timeout_ms);
    } catch (error) {
      await opened.release().catch(() => undefined);
      throw error;
    }
    return { client, opened };
  };

  const evictBeyondLimit = () => {
    if (entries.size <= options.maxSize) return;
    const oldest = [...entries].sort(([, a], [, b]) => a.lastUsed - b.lastUsed).slice(0, entries.size - options.maxSize);
    for (const [key, entry] of oldest) void release(key, entry);
  };

  const sweep = setInterval(() => {
    const cutoff = now() - options.idleMs;
    for (const [key, entry] of entries) if (entry.lastUsed < cutoff) void release(key, entry);
  }, Math.max(1000, Math.min(options.idleMs / 2, 60_000)));
  sweep.unref();

  return {
    /** `userId`'s connected client for `upstream`, reused when open; throws NeedsAuthorization when the user has no tokens. */
    async clientFor(upstream: Upstream, userId: string): Promise<UpstreamClient> {
      const key = keyOf(upstream.id, userId);
      let entry = entries.get(key);
      if (entry && entry.settings !== upstream.settings) {
        await release(key, entry);
        entry = undefined;
      }
      const bearer = entry?.bearer ?? options.bearer(upstream, userId);
      // A usable token first, for a new connection and a pooled one alike: without one (never connected, or the
      // upstream refused the refresh) NeedsAuthorization reaches the caller, which asks the user to connect.
      try {
        await bearer.token();
      } catch (error) {
        if (entry) await release(key, entry);
        throw error;
      }
      if (!entry) {
        entry = { upstreamId: upstream.id, settings: upstream.settings, bearer, ready: connect(key, upstream, bearer), lastUsed: now() };
        entries.set(key, entry);
        evictBeyondLimit();
      }
      entry.lastUsed = now();
      try {
        return (await entry.ready).client;
      } catch (error) {
        // A failed connection is not kept: the next call tries again.
        if (entries.get(key) === entry) entries.delete(key);
        throw error;
      }
    },

    /** Closes `userId`'s connection to `upstreamId` (after a disconnect or a new authorization). */
    async drop(upstreamId: string, userId: string): Promise<void> {
      const key = keyOf(upstreamId, userId);
      const entry = entries.get(key);
      if (entry) await release(key, entry);
    },

    /** Closes every connection to upstreams that are gone. */
    async retain(upstreamIds: ReadonlySet<string>): Promise<void> {
      await Promise.all([...entries].filter(([, entry]) => !upstreamIds.has(entry.upstreamId)).map(([key, entry]) => release(key, entry)));
    },

    size: () => entries.size,

    async close(): Promise<void> {
      clearInterval(sweep);
      await Promise.all([...entries].map(([key, entry]) => release(key, entry)));
    },
  };
}

export type PerUserPool = ReturnType<typeof createPerUserPool>;
