import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Db } from './db.js';

/**
 * Messages between the processes of a fleet that share one database: "this changed, look again", and what a
 * session's client sent or must receive through another replica. PostgreSQL carries them with LISTEN/NOTIFY on one
 * dedicated connection per process, reconnected when it drops (what was published meanwhile is lost: every
 * subscriber keeps a slow reconciliation poll for that). A message over NOTIFY's payload limit goes into the
 * `fleet_messages` table, and the notification names its row. With SQLite there is one process, and messages stay
 * in it.
 */

/** PostgreSQL's limit on a NOTIFY payload is 8000 bytes; a message whose envelope is larger travels as a row. */
export const MAX_NOTIFY_BYTES = 7900;
/** How long a row of a large message is kept for the replicas to read it; the retention sweep deletes it after. */
export const FLEET_MESSAGE_TTL_MS = 60_000;

/** `fromThisProcess`: the publisher was this process, which has usually acted on the change already. */
export type NotificationHandler = (payload: unknown, origin: { fromThisProcess: boolean }) => void;

export interface Notifications {
  /** Delivers `payload` (JSON) to the channel's subscribers in every process, this one included, in publishing order. */
  publish(channel: string, payload: unknown): Promise<void>;
  /** Returns the unsubscribe function. A handler's failure is its own; the others still get the message. */
  subscribe(channel: string, handler: NotificationHandler): () => void;
  /** Resolves once the subscriptions made so far receive messages (or their connection failed and is being retried). */
  ready(): Promise<void>;
  /**
   * Whether changes published by other processes reach this one right now: true while PostgreSQL's listening
   * connection is up; false while it is down, and always for SQLite's in-process channel (a CLI run beside the
   * server writes the same file, unheard). Caches that rely on messages for freshness shorten their lifetime then.
   */
  hearsOtherProcesses(): boolean;
  /** Calls `handler` each time `hearsOtherProcesses()` changes; returns the unsubscribe function. */
  onHearingChange(handler: (hears: boolean) => void): () => void;
  close(): Promise<void>;
}

/** Subscribers by channel, and delivery to them. */
function subscriberTable() {
  const handlers = new Map<string, Set<NotificationHandler>>();
  return {
    handlers,
    add(channel: string, handler: NotificationHandler) {
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      return () => void set.delete(handler);
    },
    deliver(channel: string, payload: unknown, fromThisProcess: boolean) {
      for (const handler of handlers.get(channel) ?? []) {
        try {
          handler(payload, { fromThisProcess });
        } catch {
          // One subscriber's failure must not keep the message from the others.
        }
      }
    },
  };
}

/** One process (SQLite): delivered in this process, after the publisher's current work. */
export function inProcessNotifications(): Notifications {
  const table = subscriberTable();
  return {
    async publish(channel, payload) {
      // A copy, as another process would receive it: a subscriber never shares an object with the publisher.
      const text = JSON.stringify(payload);
      queueMicrotask(() => table.deliver(channel, JSON.parse(text), true));
    },
    subscribe: (channel, handler) => table.add(channel, handler),
    async ready() {},
    hearsOtherProcesses: () => false,
    onHearingChange: () => () => undefined,
    async close() {
      table.handlers.clear();
    },
  };
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * PostgreSQL: published through the pool (`db`), received on one dedicated connection opened at the first
 * subscription. NOTIFY reaches every schema of the database, so channel names carry a digest of the schema: two
 * Gatehouse installations in one database (or tests in fresh schemas) never hear each other.
 */
export interface PostgresNotificationOptions {
  onError?: (error: unknown) => void;
}

export function postgresNotifications(db: Db, databaseUrl: string, options: PostgresNotificationOptions = {}): Notifications {
  const table = subscriberTable();
  const origin = randomUUID();
  let prefix: Promise<string> | undefined;
  const prefixOf = () =>
    (prefix ??= db.get<{ schema: string }>('SELECT current_schema() AS schema').then((row) => {
      const digest = createHash('sha256').update(String(row?.schema)).digest('hex').slice(0, 12);
      return `gatehouse_${digest}_`;
    }));
  prefixOf().catch(() => (prefix = undefined));

  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryMs = RECONNECT_MIN_MS;
  let closed = false;
  const hearingHandlers = new Set<(hears: boolean) => void>();
  let hears = false;
  const setHearing = (now: boolean) => {
    if (hears === now) return;
    hears = now;
    for (const handler of hearingHandlers) handler(now);
  };
  /** LISTENs under way, for `ready`. */
  const pending = new Set<Promise<unknown>>();

  // One statement at a time on the listening connection (pg queues concurrent ones, and deprecates doing so).
  let statements: Promise<unknown> = Promise.resolve();
  const listen = (target: pg.Client, channel: string) => {
    const done = statements.then(async () => target.query(`LISTEN "${(await prefixOf()) + channel}"`));
    statements = done.catch(() => undefined);
    return done;
  };

  const connect = async () => {
    const fresh = new pg.Client({ connectionString: databaseUrl, application_name: 'gatehouse-notifications' });
    const lost = (error?: unknown) => {
      if (error) options.onError?.(error);
      if (client !== fresh) return;
      client = undefined;
      setHearing(false);
      void fresh.end().catch(() => undefined);
      scheduleReconnect();
    };
    fresh.on('error', lost);
    fresh.on('end', () => lost());
    fresh.on('notification', receive);
    await fresh.connect();
    for (const channel of table.handlers.keys()) await listen(fresh, channel);
    if (closed || !listening()) return void (await fresh.end());
    client = fresh;
    retryMs = RECONNECT_MIN_MS;
    setHearing(true);
  };

  const ensureConnected = (): Promise<void> => {
    if (client || closed) return Promise.resolve();
    connecting ??= connect()
      .catch((error: unknown) => {
        options.onError?.(error);
        scheduleReconnect();
      })
      .finally(() => (connecting = undefined));
    return connecting;
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void ensureConnected();
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
  };

  /** Whether anything still listens: the dedicated connection is open only while something does. */
  const listening = () => [...table.handlers.values()].some((handlers) => handlers.size > 0);
  const disconnect = () => {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    const last = client;
    client = undefined;
    setHearing(false);
    void last?.end().catch(() => undefined);
  };

  /** Received messages, delivered one after the other: one read from `fleet_messages` does not overtake the next. */
  let deliveries: Promise<void> = Promise.resolve();
  const receive = (message: pg.Notification) => {
    deliveries = deliveries.then(() => deliverReceived(message)).catch((error: unknown) => options.onError?.(error));
  };
  const deliverReceived = async (message: pg.Notification) => {
    const start = await prefixOf();
    if (!message.channel.startsWith(start) || message.payload === undefined) return;
    const envelope = parseEnvelope(message.payload);
    const stored = envelope?.r === undefined ? undefined : await largeMessage(envelope.r);
    const inner = envelope?.r === undefined ? envelope : stored === undefined ? undefined : parseEnvelope(stored);
    if (inner) table.deliver(message.channel.slice(start.length), inner.p, inner.o === origin);
  };
  /** A large message's row (gone when a replica reads it after the TTL: then it is lost, as a missed NOTIFY is). */
  const largeMessage = async (id: unknown) =>
    typeof id === 'string' ? (await db.get<{ payload: string }>('SELECT payload FROM fleet_messages WHERE id = ?', [id]))?.payload : undefined;

  /** Stored, and announced in the same transaction: PostgreSQL sends the notification at commit, when the row is there. */
  const publishLarge = async (channel: string, text: string) => {
    const id = randomUUID();
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO fleet_messages (id, payload, created_at) VALUES (?, ?, ?)', [id, text, Date.now()]);
      await tx.get('SELECT pg_notify(?, ?)', [channel, JSON.stringify({ r: id })]);
    });
  };

  return {
    async publish(channel, payload) {
      const text = JSON.stringify({ o: origin, p: payload });
      const target = (await prefixOf()) + channel;
      if (Buffer.byteLength(text) > MAX_NOTIFY_BYTES) await publishLarge(target, text);
      else await db.get('SELECT pg_notify(?, ?)', [target, text]);
    },
    subscribe(channel, handler) {
      const remove = table.add(channel, handler);
      const unsubscribe = () => {
        remove();
        if (!listening()) disconnect();
      };
      // LISTEN twice is harmless: a connection being opened may or may not have seen this channel yet.
      pending.add(ensureConnected().then(() => client && listen(client, channel)).catch((error: unknown) => options.onError?.(error)));
      return unsubscribe;
    },
    async ready() {
      await Promise.all([...pending]);
      pending.clear();
    },
    hearsOtherProcesses: () => hears,
    onHearingChange(handler) {
      hearingHandlers.add(handler);
      return () => void hearingHandlers.delete(handler);
    },
    async close() {
      closed = true;
      await connecting;
      table.handlers.clear();
      disconnect();
    },
  };
}

interface Envelope {
  /** The publishing process. */
  o?: unknown;
  /** The payload. */
  p?: unknown;
  /** The `fleet_messages` row holding the envelope of a large message. */
  r?: unknown;
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Envelope) : undefined;
  } catch {
    return undefined;
  }
}
