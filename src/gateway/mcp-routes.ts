import { trace } from '@opentelemetry/api';
import { Gauge } from 'prom-client';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, isInitializeRequest, type JSONRPCMessage, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { allowCrossOriginCalls } from '../oauth/cors.js';
import type { UpstreamRegistry } from '../upstream/types.js';
import { sendGuardRefusal, sendInsufficientScope } from './challenges.js';
import { answerDirectly, directCallOf, directExchanges, takeDirectMessages } from './direct-tool-calls.js';
import { createGatewaySession, type ToolCaller } from './gateway-server.js';
import { gatewayOperations, type GatewayOperations, type GatewayOperationsOptions } from './gateway-operations.js';
import { callRuns } from './modern/call-runs.js';
import { fleetCallRuns } from './modern/fleet-call-runs.js';
import { listenStreams } from './modern/listen-streams.js';
import { isModernRequest } from './modern/request-metadata.js';
import { serveStateless, type StatelessServing } from './modern/stateless-requests.js';
import { createGatewayState, type GatewayState, type GatewayStateDeps } from './gateway-state.js';
import { registryOf } from '../ops/metrics.js';
import { guardRequest, type GuardDeps } from './guard.js';
import { virtualServerOpenTo } from './virtual-servers.js';
import { gatewayResource, VIRTUAL_SERVER_NAME, virtualServerResource } from '../oauth/resource.js';
import { hostAllowed } from './host-check.js';
import { isRequest, jsonRpcEdge, parseJsonRpcBody, sendJsonRpcError } from './jsonrpc-edge.js';
import { announceEnded, followFleetSessions, recordSessionChanges, relayAnswers, sessionRecordOf } from './fleet-sessions.js';
import { isOwnedBy, mcpSessionTable, ownerOf, type McpSession, type McpSessionTable } from './mcp-sessions.js';
import { scopesRequiredFor } from './operation-scopes.js';
import type { Principal } from './principal.js';
import { clientTraceContext } from '../http/trace-context.js';
import { inSpan } from '../ops/tracing.js';
import { relayableServerRequests } from './relayable-requests.js';
import { resumeInitialized } from './session-resume.js';
import type { McpSessionRecord, OpenedStore } from '../store/index.js';
import type { KeyRing } from '../crypto/key-ring.js';

/**
 * What /mcp builds on: one gateway server per 2025 session (with its tool-call pipeline), the operations a 2026-07-28
 * request runs (absent: the gateway's own), and the scopes each request needs.
 */
export interface GatewayBinding {
  /** `keepsState`: whether the session holds what its store record does not (absent: never), so stays in memory while idle. */
  createServer(context: { principal: Principal; gateway: GatewayState }): { server: Server; callTool?: ToolCaller; keepsState?(): boolean };
  operations?(context: Pick<GatewayOperationsOptions, 'gateway' | 'ask'> & { principal: Principal }): GatewayOperations;
  /** `principal` lets a tool hidden from the caller need what an unknown tool needs. */
  scopesRequiredFor(message: JSONRPCMessage, gateway: GatewayState, principal: Principal): string[];
}

/** What /mcp uses: the guard's credentials, the shared gateway state's services, the upstreams and the sessions' store. */
/** Not an issuer of ID-JAGs: the namespace of the `once` values of passed-on request states (modern/input-required.ts). */
const PASSED_STATE_ISSUER = 'gatehouse:passed-input-state';

export interface GatewayRouteDeps extends GatewayStateDeps, GuardDeps {
  config: GatewayStateDeps['config'] & GuardDeps['config'];
  store: GatewayStateDeps['store'] & GuardDeps['store'] & Pick<OpenedStore, 'mcpSessions' | 'idJagAssertions'>;
  /** `encryptionKey` seals 2026-07-28 request state. */
  keys: Pick<KeyRing, 'tokenHasher' | 'encryptionKey'>;
  upstreams: UpstreamRegistry;
}

export interface GatewayRouteOptions {
  deps: GatewayRouteDeps;
  /** Defaults to `deps.upstreams`. */
  upstreams?: UpstreamRegistry;
  /** Defaults to the aggregating gateway server. */
  gateway?: GatewayBinding;
  sessions?: McpSessionTable;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the /mcp guard on every request it lets through. */
    mcpCaller: Principal | null;
  }
}

/** JSON-RPC's "no such session" (the SDK's -32001): also the answer for a session that belongs to someone else. */
const SESSION_NOT_FOUND = -32001;
const TRANSPORT_ERROR = -32000;

/**
 * `POST|GET|DELETE /mcp`, the MCP Streamable HTTP endpoint. Per request: Host check (DNS rebinding), guard (bearer
 * token or API key, every time) → body at the edge (JSON-RPC shape) → scopes → the caller's own session → what
 * belongs to direct calls → a `tools/call` answered directly (direct-tool-calls.ts), or else the SDK transport.
 */
export const gatewayRoutes: FastifyPluginAsync<GatewayRouteOptions> = async (app, options) => {
  const { deps } = options;
  const registry = options.upstreams ?? deps.upstreams;
  const binding = options.gateway ?? { createServer: createGatewaySession, operations: gatewayOperations, scopesRequiredFor };
  // Built once here and shared by every session of this gateway.
  const metrics = registryOf(app);
  const gateway = createGatewayState({ registry, deps, logger: app.log, metrics });
  app.addHook('onClose', async () => gateway.close());
  const { mcpSessions: sessionStore } = deps.store;
  const onSessionError = (error: unknown) => app.log.error({ err: error }, 'keeping MCP sessions in the store failed');
  const sessions =
    options.sessions ?? mcpSessionTable({ store: sessionStore, announceEnded: announceEnded(deps.store.notifications), onError: onSessionError });
  new Gauge({
    name: 'gatehouse_mcp_sessions',
    help: 'MCP sessions held in memory by this replica (each session may have copies on several replicas).',
    registers: [metrics],
    collect() {
      this.set(sessions.size);
    },
  });
  const stopSweeping = sessions.startSweeping();
  const stopFollowing = followFleetSessions(deps.store.notifications, sessions, onSessionError);
  // Open GET streams never end on their own: close the sessions before the server waits for its connections.
  const listen = listenStreams(gateway.events, gateway.subscriptions);
  const onFault = (error: unknown) => app.log.error({ err: error }, 'mcp request failed');
  const runs = callRuns();
  const fleetRuns = fleetCallRuns(runs, deps.store.notifications, onFault);
  const stateless: StatelessServing = {
    gateway,
    listen,
    operationsFor: (principal, ask) => (binding.operations ?? gatewayOperations)({ principal, gateway, ask }),
    requestStateKey: deps.keys.encryptionKey,
    runs,
    fleetRuns,
    // The store of things used once fleet-wide (ID-JAG `jti`s), under an issuer of its own; the retention sweep forgets them.
    spendOnce: (once, until) => deps.store.idJagAssertions.remember(PASSED_STATE_ISSUER, once, until),
    onFault,
  };
  app.addHook('preClose', async () => {
    listen.closeAll();
    fleetRuns.stop();
    stopSweeping();
    stopFollowing();
    await sessions.closeAll();
  });

  allowCrossOriginCalls(app);
  jsonRpcEdge(app);
  app.decorateRequest('mcpCaller', null);
  app.addHook('onRequest', guard(deps));

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.mcpCaller!;
    const body = readBody(request, reply);
    if (body === undefined) return reply;
    if (!checkScopes(body.messages, principal, reply)) return reply;
    if (isModernRequest(request.method, request.headers, body.messages)) return serveModern(request, reply, principal, body);
    const session = await sessionFor(request, reply, principal, body.messages);
    if (!session) return reply;
    await recordSessionChanges(session, body.messages, sessionStore, deps.store.notifications);
    const rest = await relayAnswers(session, takeDirectMessages(session.direct, body.messages), deps.store.notifications, onSessionError);
    if (rest.length === 0 && body.messages.length > 0) return reply.code(202).send();
    // A batch is answered as one by the SDK, even a batch of one call.
    const call = request.method === 'POST' && !Array.isArray(body.raw) ? directCallOf(session, request.headers, rest) : undefined;
    return inMcpSpan(request, rest, () => {
      if (call) return answer(reply, session, (response) => answerDirectly(session, call, response, (error) => request.log.error({ err: error }, 'tools/call failed')));
      const forSdk = rest.length === body.messages.length ? body.raw : rest;
      return answer(reply, session, (response) => session.transport.handleRequest(request.raw, response, forSdk));
    });
  };

  /**
   * A span per MCP request (its method, and the tool of a call), child of the HTTP request's span, or, when the
   * client sent no traceparent header, of the trace context in the request's `_meta` (MCP 2026-07-28).
   */
  const inMcpSpan = <T>(request: FastifyRequest, messages: JSONRPCMessage[], work: () => Promise<T>): Promise<T> => {
    const first = messages.find(isRequest);
    if (!first) return work();
    const params = (first.params ?? {}) as { name?: unknown; _meta?: Record<string, unknown> };
    const attributes: Record<string, string> = { 'mcp.method.name': first.method };
    if (first.method === 'tools/call' && typeof params.name === 'string') attributes['gen_ai.tool.name'] = params.name;
    const parent = typeof request.headers.traceparent === 'string' ? undefined : clientTraceContext({}, params._meta);
    return inSpan(`MCP ${first.method}`, attributes, work, parent && trace.getSpan(parent) ? { parent } : {});
  };

  /** A 2026-07-28 request: no session, one message per POST (modern/stateless-requests.ts writes the answer). */
  const serveModern = async (request: FastifyRequest, reply: FastifyReply, principal: Principal, body: { raw: unknown; messages: JSONRPCMessage[] }) => {
    if (Array.isArray(body.raw)) return sendJsonRpcError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: MCP 2026-07-28 has no batches');
    takeOver(reply);
    await inMcpSpan(request, body.messages, () => serveStateless(stateless, principal, request.headers, body.messages[0]!, reply.raw));
    return reply;
  };

  /** POST carries JSON-RPC; GET (the server's stream) and DELETE (end of session) carry nothing. */
  const readBody = (request: FastifyRequest, reply: FastifyReply): { raw: unknown; messages: JSONRPCMessage[] } | undefined => {
    if (request.method !== 'POST') return { raw: undefined, messages: [] };
    if (typeof request.body !== 'string') {
      sendJsonRpcError(reply, 415, TRANSPORT_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
      return undefined;
    }
    const edge = parseJsonRpcBody(request.body);
    if (!edge.ok) {
      sendJsonRpcError(reply, edge.status, edge.code, edge.message);
      return undefined;
    }
    return { raw: edge.body, messages: edge.messages };
  };

  /** Every scope any request of the body needs, in one 403 challenge when the caller lacks one of them. */
  const checkScopes = (messages: JSONRPCMessage[], principal: Principal, reply: FastifyReply): boolean => {
    const needed = new Set(messages.filter(isRequest).flatMap((message) => binding.scopesRequiredFor(message, gateway, principal)));
    if ([...needed].every((scope) => principal.scopes.has(scope))) return true;
    sendInsufficientScope(reply, deps.config.publicUrl, [...needed], principal.virtualServer);
    return false;
  };

  const sessionFor = async (request: FastifyRequest, reply: FastifyReply, principal: Principal, messages: JSONRPCMessage[]) => {
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string' && sessionId !== '') {
      const session = sessions.findFor(sessionId, principal) ?? (await resumeSession(sessionId, principal));
      if (!session) sendJsonRpcError(reply, 404, SESSION_NOT_FOUND, 'Session not found');
      return session;
    }
    if (!messages.some(isInitializeRequest)) {
      sendJsonRpcError(reply, 400, TRANSPORT_ERROR, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    if (!(await sessions.makeRoomFor(principal))) {
      reply.header('retry-after', '60');
      sendJsonRpcError(reply, 503, TRANSPORT_ERROR, 'Too many open MCP sessions; end unused ones (DELETE /mcp) or try again later');
      return undefined;
    }
    const id = randomUUID();
    const record = sessionRecordOf(id, principal, messages, Date.now());
    // Stored when the SDK has accepted the initialize request, before its answer gives the client the id.
    return openSession(principal, id, async (session) => {
      if (record) await sessionStore.create(record);
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
      pending = sessionStore
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

  /** The SDK (or the direct path) writes the response itself, JSON or SSE. */
  const answer = async (reply: FastifyReply, session: McpSession, write: (response: ServerResponse) => Promise<void>) => {
    takeOver(reply);
    const done = sessions.begin(session);
    reply.raw.once('close', done);
    try {
      await write(reply.raw);
    } catch (error) {
      reply.request.log.error({ err: error }, 'mcp transport failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' });
      if (!reply.raw.writableEnded) reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
    }
    // A new session whose initialization the SDK refused never joined the table: release its server.
    if (session.transport.sessionId === undefined) await session.server.close();
  };

  // /mcp/{name}: a virtual server, the same endpoint showing only its tools (the guard resolves which).
  for (const path of ['/mcp', '/mcp/:name']) {
    app.post(path, serve);
    app.get(path, serve);
    app.delete(path, serve);
  }
};

/** The first step of every /mcp request: nothing else runs for a caller the guard turned away. */
function guard(deps: GatewayRouteDeps) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'OPTIONS') return; // CORS preflights carry no credentials by design.
    if (!hostAllowed(request.host, deps.config.publicUrl)) {
      return sendJsonRpcError(reply, 403, TRANSPORT_ERROR, `Host ${JSON.stringify(request.host)} is not this server's; use ${deps.config.publicUrl}/mcp`);
    }
    const name = (request.params as { name?: string }).name;
    const virtualServer = name === undefined ? undefined : await findVirtualServer(deps, name);
    if (name !== undefined && !virtualServer) return sendJsonRpcError(reply, 404, TRANSPORT_ERROR, `No virtual server is named ${JSON.stringify(name)}`);
    const queryStart = request.url.indexOf('?');
    const outcome = await guardRequest(deps, {
      authorization: request.headers.authorization,
      query: queryStart < 0 ? '' : request.url.slice(queryStart + 1),
      resource: virtualServer ? virtualServerResource(deps.config.publicUrl, virtualServer.name) : gatewayResource(deps.config.publicUrl),
    });
    if (outcome.kind !== 'caller') return sendGuardRefusal(reply, deps.config.publicUrl, outcome, virtualServer?.name);
    if (!virtualServer) {
      request.mcpCaller = outcome.principal;
      return;
    }
    if (!virtualServerOpenTo(virtualServer, outcome.principal)) {
      return sendJsonRpcError(reply, 403, TRANSPORT_ERROR, `You are not among the users allowed to use the virtual server ${JSON.stringify(virtualServer.name)}`);
    }
    request.mcpCaller = { ...outcome.principal, virtualServer: virtualServer.name };
  };
}

const findVirtualServer = async (deps: Pick<GatewayRouteDeps, 'store'>, name: string) => (VIRTUAL_SERVER_NAME.test(name) ? deps.store.virtualServers.find(name) : undefined);

/** Step: the raw response is written by hand from here on; Fastify's headers so far (CORS, request id) go along. */
function takeOver(reply: FastifyReply): void {
  reply.hijack();
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, value);
  }
}
