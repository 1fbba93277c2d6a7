import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpSessionStore } from '../store/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { DirectExchanges } from './direct-tool-calls.js';
import type { ToolCaller } from './gateway-server.js';
import type { Principal } from './principal.js';

/** Enough for a large deployment on one replica; beyond it new sessions are refused rather than memory exhausted. */
export const MAX_MCP_SESSIONS = 10_000;
/**
 * One user's share: a client that opens sessions without ending them (or a user who scripts it) must not take the
 * table from everyone else. Beyond it the user's least recently used idle session makes way.
 */
export const MAX_MCP_SESSIONS_PER_USER = 100;
/** A session with no request for this long is closed; clients re-initialize transparently. */
export const MCP_SESSION_IDLE_MS = 30 * 60_000;
export const MCP_SESSION_SWEEP_MS = 60_000;
/**
 * A session with no request for this long leaves memory (its SDK server, transport and pipeline, ~11 KB of heap)
 * and lives on in the store only: its next request rebuilds it from there, as another replica would (one indexed
 * read and a new server, a few ms once per idle spell). Checked every MCP_SESSION_HIBERNATE_CHECK_MS.
 */
export const MCP_SESSION_HIBERNATE_MS = 30_000;
export const MCP_SESSION_HIBERNATE_CHECK_MS = 10_000;
/** A session's last use is written to the store at most this often (idle expiry needs no finer grain). */
export const MCP_SESSION_TOUCH_MS = 60_000;
/** Sessions idle in the store (on no replica any more) deleted per sweep. */
const STORE_SWEEP_BATCH = 500;

/**
 * Who opened a session, and with what: only the same user through the same credential may use it. An access token's
 * credential is its OAuth client (a refreshed token, or one of a new grant with more scope after a step-up, goes on
 * with the session); an API key's is the key itself, not any key of the user.
 */
export interface SessionOwner {
  userId: string;
  clientId: string | null;
  via: Principal['via'];
  /** The API key's id; null for an access token. */
  apiKeyId: string | null;
  /** The virtual server the session was opened on; null for /mcp itself. */
  virtualServer: string | null;
}

/** One MCP session: its transport and the gateway server connected to it, and the calls answered directly. */
export interface McpSession {
  readonly id: string;
  readonly owner: SessionOwner;
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  /** The server's tool-call pipeline, for calls answered without the SDK (direct-tool-calls.ts); absent: always the SDK. */
  readonly callTool?: ToolCaller;
  readonly direct: DirectExchanges;
  lastSeenAt: number;
  /** Requests (and GET streams) still open: a session serving one is never idle. */
  inFlight: number;
  /** When this replica last wrote the session's last use to the store. */
  touchedAt: number;
  /** Whether the client's `notifications/initialized` is recorded. */
  initialized: boolean;
  /** Whether the session holds state the store does not (resource subscriptions): then it stays in memory while idle. */
  keepsState?(): boolean;
}

export function ownerOf(principal: Principal): SessionOwner {
  return {
    userId: principal.userId,
    clientId: principal.clientId,
    via: principal.via,
    apiKeyId: principal.apiKeyId ?? null,
    virtualServer: principal.virtualServer ?? null,
  };
}

/**
 * The session's opener, through the same credential, at the same endpoint (a session of /mcp/a is not one of /mcp).
 * A stored API key session without its key (opened before migration 013) matches no key.
 */
export function isOwnedBy(owner: SessionOwner, principal: Principal): boolean {
  return (
    owner.userId === principal.userId &&
    owner.clientId === principal.clientId &&
    owner.via === principal.via &&
    owner.apiKeyId === (principal.apiKeyId ?? null) &&
    owner.virtualServer === (principal.virtualServer ?? null)
  );
}

/**
 * The MCP sessions this replica holds in memory, over the store that every replica shares: a session lives in the
 * store (created at initialize, gateway/request-sessions.ts) and any replica may hold a copy. Ending one (DELETE, the
 * per-user cap, idle expiry) deletes its row and announces it, so every replica drops its copy.
 */
export interface McpSessionTable {
  readonly size: number;
  /**
   * Whether `principal` may open one more session: within this replica's bound and the user's share across the
   * fleet. A user at their share gets room by ending their own least recently used sessions not serving a request
   * here; with none, no room.
   */
  makeRoomFor(principal: Principal): Promise<boolean>;
  /** Whether this replica may hold one more session (its memory bound; the per-user share is `makeRoomFor`'s). */
  hasRoom(): boolean;
  add(session: McpSession): void;
  /**
   * The session if this replica holds it and `principal` may use it. A session of someone else is answered exactly
   * like an unknown one, so a guessed or leaked id reveals nothing.
   */
  findFor(id: string, principal: Principal): McpSession | undefined;
  /** This replica's copy of the session, whoever owns it: for changes announced by other replicas. */
  held(id: string): McpSession | undefined;
  /** Forgets this replica's copy (its transport closed); the session goes on elsewhere. */
  remove(id: string): void;
  /** Ends the session on every other replica (its row goes, they drop their copies); the caller closes this one's. */
  end(id: string): Promise<void>;
  /** Closes this replica's copies of sessions ended elsewhere. */
  drop(ids: readonly string[]): Promise<void>;
  /** Marks a request in flight on the session; call the returned function once, when its response has ended. */
  begin(session: McpSession): () => void;
  /** Ends every idle session (here and, in the store, those no replica holds); resolves with how many ended. */
  sweepIdle(): Promise<number>;
  /**
   * Closes this replica's copies of sessions idle for `hibernateMs` that keep no state of their own: they go on in
   * the store, and their next request here rebuilds them (gateway/request-sessions.ts). Resolves with how many left
   * memory.
   */
  hibernateIdle(): Promise<number>;
  /**
   * Sweeps every `intervalMs`, and hibernates every MCP_SESSION_HIBERNATE_CHECK_MS, on unref'd timers (they never
   * keep the process alive); returns the stop function.
   */
  startSweeping(intervalMs?: number): () => void;
  /**
   * Ends the GET streams of the sessions held here (at shutdown: they never end on their own, and their clients open
   * them again, on another replica). The sessions and the requests they serve go on.
   */
  endStreams(): void;
  /** Resolves true once no session held here serves a request, or false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Closes this replica's copies (at shutdown); the sessions go on through the other replicas. */
  closeAll(): Promise<void>;
}

export interface McpSessionTableOptions {
  store: McpSessionStore;
  /** Tells every replica these sessions ended. */
  announceEnded(ids: readonly string[]): Promise<void>;
  maxSessions?: number;
  maxSessionsPerUser?: number;
  idleMs?: number;
  hibernateMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

export function mcpSessionTable(options: McpSessionTableOptions): McpSessionTable {
  const { store } = options;
  const maxSessions = options.maxSessions ?? MAX_MCP_SESSIONS;
  const maxPerUser = options.maxSessionsPerUser ?? MAX_MCP_SESSIONS_PER_USER;
  const idleMs = options.idleMs ?? MCP_SESSION_IDLE_MS;
  const hibernateMs = options.hibernateMs ?? MCP_SESSION_HIBERNATE_MS;
  const now = options.now ?? Date.now;
  const reportError = (error: unknown) => options.onError?.(error);
  const sessions = new Map<string, McpSession>();
  /** Who waits for every request here to end (shutdown), told at the end of the last one. */
  let drainWaiters: Array<() => void> = [];
  const serving = () => [...sessions.values()].some((session) => session.inFlight > 0);

  // Closing the server closes its transport, whose onclose removes the session from the table.
  const close = async (session: McpSession) => {
    sessions.delete(session.id);
    await session.server.close();
  };
  const drop = async (ids: readonly string[]) => {
    await Promise.all(ids.flatMap((id) => (sessions.has(id) ? [close(sessions.get(id)!)] : [])));
  };
  const ended = async (ids: string[]) => {
    await drop(ids);
    if (ids.length > 0) await options.announceEnded(ids);
  };

  const sweepIdle = async () => {
    const at = now();
    const cutoff = at - idleMs;
    // Streams and long calls held here keep their sessions alive for the other replicas' sweeps too.
    await store.touch([...sessions.values()].filter((s) => s.inFlight > 0).map((s) => s.id), at);
    const idle = [...sessions.values()].filter((s) => s.inFlight === 0 && s.lastSeenAt <= cutoff);
    // A copy idle here may be in use through another replica: then only the copy goes.
    const endedHere = (await Promise.all(idle.map(async (s) => ((await store.deleteIfIdle(s.id, cutoff)) ? [s.id] : [])))).flat();
    await Promise.all(idle.map(close));
    const endedInStore = await store.deleteIdle(cutoff - MCP_SESSION_TOUCH_MS, STORE_SWEEP_BATCH);
    const all = [...new Set([...endedHere, ...endedInStore])];
    await ended(all);
    return all.length;
  };

  // The store's last use may lag by up to MCP_SESSION_TOUCH_MS: its sweep (deleteIdle) allows for that.
  const hibernateIdle = async () => {
    const cutoff = now() - hibernateMs;
    const idle = [...sessions.values()].filter((s) => s.inFlight === 0 && s.lastSeenAt <= cutoff && !s.keepsState?.());
    await Promise.all(idle.map(close));
    return idle.length;
  };

  return {
    get size() {
      return sessions.size;
    },
    async makeRoomFor(principal) {
      if (sessions.size >= maxSessions) return false;
      const own = await store.listForUser(principal.userId);
      if (own.length < maxPerUser) return true;
      const evictable = own.filter(({ id }) => (sessions.get(id)?.inFlight ?? 0) === 0).slice(0, own.length - maxPerUser + 1);
      if (evictable.length < own.length - maxPerUser + 1) return false;
      const gone = (await Promise.all(evictable.map(async ({ id }) => ((await store.delete(id)) ? [id] : [])))).flat();
      await ended(gone);
      return sessions.size < maxSessions;
    },
    hasRoom: () => sessions.size < maxSessions,
    add(session) {
      sessions.set(session.id, session);
    },
    findFor(id, principal) {
      const session = sessions.get(id);
      return session && isOwnedBy(session.owner, principal) ? session : undefined;
    },
    held: (id) => sessions.get(id),
    remove(id) {
      sessions.delete(id);
    },
    async end(id) {
      await store.delete(id);
      await options.announceEnded([id]);
    },
    drop,
    begin(session) {
      session.inFlight += 1;
      session.lastSeenAt = now();
      if (session.lastSeenAt - session.touchedAt >= MCP_SESSION_TOUCH_MS) {
        session.touchedAt = session.lastSeenAt;
        void store.touch([session.id], session.lastSeenAt).catch(reportError);
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        session.inFlight -= 1;
        session.lastSeenAt = now();
        if (drainWaiters.length > 0 && !serving()) for (const waiter of drainWaiters.splice(0)) waiter();
      };
    },
    sweepIdle,
    hibernateIdle,
    startSweeping(intervalMs = MCP_SESSION_SWEEP_MS) {
      const timers = [
        setInterval(() => void sweepIdle().catch(reportError), intervalMs),
        setInterval(() => void hibernateIdle().catch(reportError), MCP_SESSION_HIBERNATE_CHECK_MS),
      ];
      for (const timer of timers) timer.unref();
      return () => timers.forEach(clearInterval);
    },
    endStreams() {
      for (const session of sessions.values()) session.transport.closeStandaloneSSEStream();
    },
    drained(timeoutMs) {
      if (!serving()) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          drainWaiters = drainWaiters.filter((other) => other !== waiter);
          resolve(false);
        }, timeoutMs);
        drainWaiters.push(waiter);
      });
    },
    async closeAll() {
      await Promise.all([...sessions.values()].map(close));
    },
  };
}
