import type { Notifications } from './notifications.js';

/**
 * Rows kept in this process for a short while, so that a steady stream of requests reads the database once, not on
 * every request; every message on one channel of the fleet's notifications empties it (identity/credential-cache.ts
 * for credentials, gateway/virtual-servers.ts for virtual servers).
 *
 * Freshness: every write that can change what is cached announces itself on the channel, and every process empties
 * its cache when it hears it, so a change takes effect fleet-wide within the delivery time of a NOTIFY
 * (milliseconds); writes that also tell this process at once (`localChanges`) empty it before their promise
 * resolves. While the process cannot hear other processes (PostgreSQL's listening connection is down and being
 * reconnected; SQLite, where a CLI may write beside the server) an entry lives only `fallbackTtlMs`: the bounded
 * staleness. Losing or regaining hearing empties the cache, since a change may have gone unheard. A load that was
 * under way when a change was heard is not kept (it may have read the old row).
 */
export interface NotifiedCache {
  /** The cached value for `key`, or what `load` returns (kept unless undefined: a miss is never cached). */
  get<T extends object>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** How many entries it holds, for metrics and tests. */
  readonly size: number;
  close(): void;
}

export interface NotifiedCacheOptions {
  notifications: Pick<Notifications, 'subscribe' | 'hearsOtherProcesses' | 'onHearingChange'>;
  /** Each message on it empties the cache. */
  channel: string;
  /** This process's own changes, heard before their message comes back (which then empties nothing more). */
  localChanges?: { subscribe(handler: () => void): () => void };
  /** Lifetime of an entry while changes are heard; 0 turns the cache off. */
  ttlMs: number;
  /** Lifetime of an entry while they are not. */
  fallbackTtlMs: number;
  /** Beyond it the oldest entries go first. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  value: object;
  loadedAt: number;
}

export function notifiedCache(options: NotifiedCacheOptions): NotifiedCache {
  const { notifications, maxEntries } = options;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  /** Moves on with every emptying: a load begun under an older generation is not kept. */
  let generation = 0;
  const empty = () => {
    generation += 1;
    entries.clear();
  };
  const { localChanges } = options;
  const unsubscribe = [
    ...(localChanges ? [localChanges.subscribe(empty)] : []),
    // With localChanges, this process's own changes were heard there already, when they committed.
    notifications.subscribe(options.channel, (_change, { fromThisProcess }) => {
      if (!fromThisProcess || !localChanges) empty();
    }),
    notifications.onHearingChange(empty),
  ];
  const lifetime = () => Math.min(options.ttlMs, notifications.hearsOtherProcesses() ? options.ttlMs : options.fallbackTtlMs);

  return {
    async get<T extends object>(key: string, load: () => Promise<T | undefined>) {
      const ttl = lifetime();
      if (ttl <= 0) return load();
      const entry = entries.get(key);
      const at = now();
      if (entry && at - entry.loadedAt < ttl) return entry.value as T;
      const startedIn = generation;
      const value = await load();
      if (value === undefined || startedIn !== generation) return value;
      entries.delete(key);
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(key, { value, loadedAt: at });
      return value;
    },
    get size() {
      return entries.size;
    },
    close() {
      for (const stop of unsubscribe) stop();
      empty();
    },
  };
}

