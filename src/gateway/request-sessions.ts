import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { directExchanges } from './direct-tool-calls.js';
import { sessionRecordOf } from './fleet-sessions.js';
import type { GatewayState } from './gateway-state.js';
import { sendJsonRpcError } from './jsonrpc-edge.js';
import { TRANSPORT_ERROR, type McpExchange } from './mcp-exchange.js';
import type { GatewayBinding } from './mcp-routes.js';
import { isOwnedBy, ownerOf, type McpSession, type McpSessionTable } from './mcp-sessions.js';
import type { Principal } from './principal.js';
import { relayableServerRequests } from './relayable-requests.js';
import { resumeInitialized } from './session-resume.js';
import type { McpSessionRecord, McpSessionStore } from '../store/index.js';

/** JSON-RPC's "no such session" (the SDK's -32001): also the answer for a session that belongs to someone else. */
const SESSION_NOT_FOUND = -32001;

export interface RequestSessionsOptions {
  sessions: McpSessionTable;
  store: McpSessionStore;
  binding: Pick<GatewayBinding, 'createServer'>;
  gateway: GatewayState;
}

/**
 * The session of a 2025 request: at once when this replica holds it (every call but a session's first here), else
 * once resumed or opened; undefined once an error has answered the request.
 */
export type SessionFor = (exchange: McpExchange, principal: Principal, messages: JSONRPCMessage[]) => McpSession | undefined | Promise<McpSession | undefined>;

/** Finding, resuming and opening the sessions of one gateway's /mcp requests: made once, where the gateway is wired (mcp-routes.ts). */
export function requestSessions({ sessions, store, binding, gateway }: RequestSessionsOptions): SessionFor {
  const sessionFor: SessionFor = (exchange, principal, messages) => {
    const sessionId = exchange.request.headers['mcp-session-id'];
    if (typeof sessionId !== 'string' || sessionId === '') return newSession(exchange, principal, messages);
    return sessions.findFor(sessionId, principal) ?? resumeSession(sessionId, principal).then((session) => {
      if (!session) sendJsonRpcError(exchange, 404, SESSION_NOT_FOUND, 'Session not found');
      return session;
    });
  };

  const newSession = async (exchange: McpExchange, principal: Principal, messages: JSONRPCMessage[]) => {
    if (!messages.some(isInitializeRequest)) {
      sendJsonRpcError(exchange, 400, TRANSPORT_ERROR, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    if (!(await sessions.makeRoomFor(principal))) {
      sendJsonRpcError(exchange, 503, TRANSPORT_ERROR, 'Too many open MCP sessions; end unused ones (DELETE /mcp) or try again later', { 'retry-after': '60' });
      return undefined;
    }
    const id = randomUUID();
    const record = sessionRecordOf(id, principal, messages, Date.now());
    // Stored when the SDK has accepted the initialize request, before its answer gives the client the id.
    return openSession(principal, id, async (session) => {
      if (record) await store.create(record);
      sessions.add(session);
    });
  };

  /**
   * A session this replica does not hold, rebuilt from the store (another replica opened it, or this one dropped
   * its copy): only for its owner, and once however many of its requests arrive together.
   */
  const resuming = new Map<string, Promise<McpSession | undefined>>();
  const resumeSession = (id: string, principal: Principal): Promise<McpSession | undefined> => {
    let pending = resuming.get(id);
    if (!pending) {
      pending = store
        .find(id)
        .then(async (record) => (record && isOwnedBy(record, principal) && sessions.hasRoom() ? resumed(record, principal) : undefined))
        .finally(() => resuming.delete(id));
      resuming.set(id, pending);
    }
    return pending.then((session) => session && sessions.findFor(id, principal));
  };

  const resumed = async (record: McpSessionRecord, principal: Principal): Promise<McpSession> => {
    const session = await openSession(principal, record.id, async () => undefined, (transport, server) =>
      resumeInitialized(transport, server, {
        sessionId: record.id,
        clientCapabilities: JSON.parse(record.clientCapabilities),
        clientInfo: JSON.parse(record.clientInfo),
        logLevel: record.logLevel as LoggingLevel | null,
      }),
    );
    session.initialized = record.initialized;
    sessions.add(session);
    return session;
  };

  /**
   * A transport and a gateway server for a session: a new one joins the table once the SDK has initialized it
   * (`initialized`); a resumed one is put in its initialized state (`prepare`) before it serves anything.
   */
  const openSession = async (
    principal: Principal,
    id: string,
    initialized: (session: McpSession) => Promise<void>,
    prepare?: (transport: StreamableHTTPServerTransport, server: Server) => void,
  ): Promise<McpSession> => {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: () => initialized(session),
      // DELETE: the SDK closes this copy; the others go with the row.
      onsessionclosed: () => sessions.end(id),
    });
    const { server, callTool, keepsState } = binding.createServer({ principal, gateway });
    prepare?.(transport, server);
    const direct = directExchanges();
    relayableServerRequests(transport, direct);
    const now = Date.now();
    const session: McpSession = { id, owner: ownerOf(principal), transport, server, callTool, direct, lastSeenAt: now, inFlight: 0, touchedAt: now, initialized: false, keepsState };
    // Set before connect: the SDK's Protocol chains its own close handling onto this one.
    transport.onclose = () => {
      sessions.remove(id);
      for (const call of direct.calls.values()) call.abort('the session ended');
    };
    await server.connect(transport);
    return session;
  };

  return sessionFor;
}
