import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
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

/** Who opened a session: only the same user through the same client (or API keys of the same user) may use it. */
export interface SessionOwner {
  userId: string;
  clientId: string | null;
  via: Principal['via'];
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
}

export function ownerOf(principal: Principal): SessionOwner {
  return { userId: principal.userId, clientId: principal.clientId, via: principal.via };
}

export function isOwnedBy(owner: SessionOwner, principal: Principal): boolean {
  return owner.userId === principal.userId && owner.clientId === principal.clientId && owner.via === principal.via;
}

export interface McpSessionTable {
  readonly size: number;
  /**
   * Whether `principal` may open one more session: within the table's bound and the user's share. A user at their
   * share gets room by closing their own least recently used idle session; with none idle, no room.
   */
  makeRoomFor(principal: Principal): Promise<boolean>;
  add(session: McpSession): void;
  /**
   * The session if `principal` may use it. A session of someone else is answered exactly like an unknown one,
   * so a guessed or leaked id reveals nothing.
   */
  findFor(id: string, principal: Principal): McpSession | undefined;
  remove(id: string): void;
  /** Marks a request in flight on the session; call the returned function once, when its response has ended. */
  begin(session: McpSession): () => void;
  /** Closes every idle session; resolves with how many were closed. */
  sweepIdle(): Promise<number>;
  /** Sweeps every `intervalMs` on an unref'd timer (it never keeps the process alive); returns the stop function. */
  startSweeping(intervalMs?: number): () => void;
  closeAll(): Promise<void>;
}

export function mcpSessionTable(
  options: { maxSessions?: number; maxSessionsPerUser?: number; idleMs?: number; now?: () => number; onSweepError?: (error: unknown) => void } = {},
): McpSessionTable {
  const maxSessions = options.maxSessions ?? MAX_MCP_SESSIONS;
  const maxPerUser = options.maxSessionsPerUser ?? MAX_MCP_SESSIONS_PER_USER;
  const idleMs = options.idleMs ?? MCP_SESSION_IDLE_MS;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, McpSession>();

  // Closing the server closes its transport, whose onclose removes the session from the table.
  const close = async (session: McpSession) => {
    sessions.delete(session.id);
    await session.server.close();
  };

  const sweepIdle = async () => {
    const cutoff = now() - idleMs;
    const idle = [...sessions.values()].filter((s) => s.inFlight === 0 && s.lastSeenAt <= cutoff);
    await Promise.all(idle.map(close));
    return idle.length;
  };

  return {
    get size() {
      return sessions.size;
    },
    async makeRoomFor(principal) {
      const own = [...sessions.values()].filter((session) => session.owner.userId === principal.userId);
      if (own.length < maxPerUser) return sessions.size < maxSessions;
      const idle = own.filter((session) => session.inFlight === 0).sort((a, b) => a.lastSeenAt - b.lastSeenAt);
      if (idle.length === 0) return false;
      await Promise.all(idle.slice(0, own.length - maxPerUser + 1).map(close));
      return sessions.size < maxSessions;
    },
    add(session) {
      sessions.set(session.id, session);
    },
    findFor(id, principal) {
      const session = sessions.get(id);
      return session && isOwnedBy(session.owner, principal) ? session : undefined;
    },
    remove(id) {
      sessions.delete(id);
    },
    begin(session) {
      session.inFlight += 1;
      session.lastSeenAt = now();
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        session.inFlight -= 1;
        session.lastSeenAt = now();
      };
    },
    sweepIdle,
    startSweeping(intervalMs = MCP_SESSION_SWEEP_MS) {
      const timer = setInterval(() => void sweepIdle().catch((error: unknown) => options.onSweepError?.(error)), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    async closeAll() {
      await Promise.all([...sessions.values()].map(close));
    },
  };
}
