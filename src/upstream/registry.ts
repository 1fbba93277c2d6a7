import { VERSION } from '../version.js';
import type { UpstreamStore } from '../store/index.js';
import { DEFAULT_BACKOFF, UpstreamConnection, type Backoff } from './connection.js';
import type { BearerSource } from './oauth/bearer-fetch.js';
import { openSecrets, settingsOf } from './settings.js';
import { syncConfigUpstreams, type RegistryControl } from './upstream-service.js';
import type { Upstream, UpstreamEvent, UpstreamRegistry, UpstreamSettings, UpstreamStatus } from './types.js';

/** The demo upstream's fixed id and name; it exists only while no upstream is configured. */
export const DEMO_UPSTREAM_ID = 'demo';
const demoSettings: UpstreamSettings = { name: 'demo', connection_type: 'in_process', auth_type: 'none', tools_to_execute: ['*'], tools_to_skip: [], timeout_ms: 30_000 };

export interface RegistryOptions {
  store: UpstreamStore;
  encryptionKey: Buffer;
  /** Raw upstream entries of the config file, validated and synced into the store by `start`. */
  configUpstreams: readonly Record<string, unknown>[];
  demo: boolean;
  /** The token source of an OAuth upstream's connection (the shared one, or the listing one of a per-user upstream). */
  bearerFor?: (id: string, settings: UpstreamSettings) => BearerSource | undefined;
  backoff?: Backoff;
  /** How long `start` waits for the first attempts (in parallel) before it returns anyway. */
  startWaitMs?: number;
  /** How often the store is re-read, so changes made through another replica reach this one. */
  syncIntervalMs?: number;
  now?: () => number;
  random?: () => number;
}

/** The registry with the controls that the management API and tests use besides the gateway's contract. */
export interface ManagedUpstreamRegistry extends UpstreamRegistry, RegistryControl {
  /** Resolves once upstream `id` is in `state` (at once if it is already). */
  whenState(id: string, state: UpstreamStatus['state']): Promise<Upstream>;
  /** Told of every state change of every connection (logs, metrics); returns the unsubscribe. */
  observeStatus(listener: (change: UpstreamStatusChange) => void): () => void;
}

/** One connection's move from one state to another. */
export interface UpstreamStatusChange {
  id: string;
  name: string;
  status: UpstreamStatus;
  /** Absent for a connection's first state. */
  previous?: UpstreamStatus['state'];
}

export function createUpstreamRegistry(options: RegistryOptions): ManagedUpstreamRegistry {
  const { store, encryptionKey } = options;
  const now = options.now ?? Date.now;
  const connections = new Map<string, { connection: UpstreamConnection; fingerprint: string }>();
  const listeners = new Set<(event: UpstreamEvent) => void>();
  const waiters = new Set<() => void>();
  const clientVersion = VERSION;
  let started = false;
  let closed = false;
  let syncTimer: NodeJS.Timeout | undefined;
  // Changes from the API and the periodic sync both rebuild connections; one at a time, so none is made twice.
  let changes: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = changes.then(work);
    changes = result.catch(() => undefined);
    return result;
  };

  const emit = (event: UpstreamEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // One listener's failure must not keep the event from the others.
      }
    }
  };

  const statusListeners = new Set<(change: UpstreamStatusChange) => void>();
  // Weak: a closed connection's last state goes with it.
  const lastStates = new WeakMap<UpstreamConnection, UpstreamStatus['state']>();
  const reportStatus = (connection: UpstreamConnection) => {
    const status = connection.status();
    const previous = lastStates.get(connection);
    lastStates.set(connection, status.state);
    const change = { id: connection.id, name: connection.settings.name, status, ...(previous ? { previous } : {}) };
    for (const listener of statusListeners) {
      try {
        listener(change);
      } catch {
        // An observer's failure must not disturb the connection.
      }
    }
  };

  const connectionFor = (id: string, settings: UpstreamSettings, secrets: ReturnType<typeof openSecrets>) =>
    new UpstreamConnection({
      id, settings, secrets, clientVersion, now, emit,
      bearer: options.bearerFor?.(id, settings),
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      onStatus: (connection) => {
        reportStatus(connection);
        for (const wake of [...waiters]) wake();
      },
    });

  // apply and placeDemo hand back the first connection attempt wrapped in an object: an async function that
  // returned the bare promise would wait for it, and one slow upstream would hold up the caller.
  type Started = { attempt?: Promise<void> };

  /** The demo upstream is there exactly while the registry runs, the demo is on and nothing else is configured. */
  const placeDemo = async (): Promise<Started> => {
    const others = [...connections.keys()].some((id) => id !== DEMO_UPSTREAM_ID);
    const wanted = started && !closed && options.demo && !others;
    const present = connections.has(DEMO_UPSTREAM_ID);
    if (wanted && !present) {
      const connection = connectionFor(DEMO_UPSTREAM_ID, demoSettings, {});
      connections.set(DEMO_UPSTREAM_ID, { connection, fingerprint: 'demo' });
      return { attempt: connection.connect() };
    }
    if (!wanted && present) {
      const { connection } = connections.get(DEMO_UPSTREAM_ID)!;
      connections.delete(DEMO_UPSTREAM_ID);
      await connection.close();
    }
    return {};
  };

  /** Makes the live connection of `id` match its stored record; returns the first attempt when one starts. */
  const apply = async (id: string): Promise<Started> => {
    const record = await store.find(id);
    const existing = connections.get(id);
    const fingerprint = record ? `${record.config}\n${record.sealedSecrets ?? ''}` : '';
    if (existing && existing.fingerprint === fingerprint) return {};
    if (existing) {
      connections.delete(id);
      await existing.connection.close();
    }
    if (!record) return {};
    const connection = connectionFor(id, settingsOf(record), openSecrets(encryptionKey, id, record.sealedSecrets));
    connections.set(id, { connection, fingerprint });
    return { attempt: connection.connect() };
  };

  /** Re-reads every stored upstream; announces a change only when a connection was added, replaced or removed. */
  const reconcile = async () => {
    const before = new Map([...connections].map(([id, entry]) => [id, entry.fingerprint]));
    const ids = new Set([...(await store.list()).map((record) => record.id), ...connections.keys()]);
    ids.delete(DEMO_UPSTREAM_ID);
    for (const id of ids) await apply(id);
    await placeDemo();
    // An authorization may have been completed on another replica: connections waiting for one look again.
    for (const { connection } of connections.values()) if (connection.status().state === 'needs_auth') void connection.connect();
    const after = new Map([...connections].map(([id, entry]) => [id, entry.fingerprint]));
    const changed = before.size !== after.size || [...after].some(([id, fingerprint]) => before.get(id) !== fingerprint);
    if (changed) emit({ kind: 'upstreams_changed' });
  };

  const registry: ManagedUpstreamRegistry = {
    all: () => [...connections.values()].map((entry) => entry.connection),
    get: (id) => connections.get(id)?.connection,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async start() {
      if (started) return;
      await syncConfigUpstreams(store, encryptionKey, options.configUpstreams, now());
      started = true;
      const applied = await Promise.all((await store.list()).map((record) => apply(record.id)));
      applied.push(await placeDemo());
      const attempts = applied.map((entry) => entry.attempt);
      // Upstreams connect in parallel; start waits a little so that the first tools/list usually sees them all.
      const wait = options.startWaitMs ?? 5000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(attempts), new Promise((resolve) => (timer = setTimeout(resolve, wait)))]);
      clearTimeout(timer);
      // Another replica may add, change or remove upstreams in the shared database; this one follows within seconds.
      syncTimer = setInterval(() => void serially(reconcile).catch(() => undefined), options.syncIntervalMs ?? 5000);
      syncTimer.unref();
    },

    async close() {
      closed = true;
      clearInterval(syncTimer);
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map((entry) => entry.connection.close()));
      for (const wake of [...waiters]) wake();
    },

    async refresh(id) {
      if (!started || closed) return;
      await serially(async () => {
        await apply(id);
        await placeDemo();
      });
      emit({ kind: 'upstreams_changed' });
    },

    async reconnect(id) {
      return connections.get(id)?.connection.reconnect();
    },

    statusOf: (id) => connections.get(id)?.connection.status(),

    observeStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },

    whenState(id, state) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const connection = connections.get(id)?.connection;
          if (connection && connection.status().state === state) {
            waiters.delete(check);
            resolve(connection);
          } else if (closed) {
            waiters.delete(check);
            reject(new Error(`the registry closed before upstream ${id} was ${state}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
  return registry;
}
