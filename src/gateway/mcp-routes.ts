import { trace } from '@opentelemetry/api';
import { Gauge } from 'prom-client';
import type { IncomingMessage } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamRegistry } from '../upstream/types.js';
import { sendGuardRefusal, sendInsufficientScope } from './challenges.js';
import { answerDirectly, directCallOf, takeDirectMessages, type DirectCall } from './direct-tool-calls.js';
import { createGatewaySession, type ToolCaller } from './gateway-server.js';
import { gatewayOperations, type GatewayOperations, type GatewayOperationsOptions } from './gateway-operations.js';
import { callRuns } from './modern/call-runs.js';
import { fleetCallRuns } from './modern/fleet-call-runs.js';
import { listenStreams } from './modern/listen-streams.js';
import { isModernRequest } from './modern/request-metadata.js';
import { serveStateless, type StatelessServing } from './modern/stateless-requests.js';
import { createGatewayState, type GatewayState, type GatewayStateDeps } from './gateway-state.js';
import { registryOf } from '../ops/metrics.js';
import { appHooksOf, refuseWhileClosing } from '../http/front-door.js';
import type { RawRoutes } from '../http/raw-routes.js';
import { crossOrigin, handOver, readBodyText, sendNoBody, TRANSPORT_ERROR, type BodyText, type McpExchange } from './mcp-exchange.js';
import { isMcpPath, MCP_ROUTES, mcpFrontDoor } from './mcp-front-door.js';
import { DEFAULT_BODY_LIMIT } from '../http/request-body.js';
import { guardRequest, type GuardDeps, type GuardOutcome } from './guard.js';
import { cachedVirtualServers, virtualServerOpenTo } from './virtual-servers.js';
import { gatewayResource, VIRTUAL_SERVER_NAME, virtualServerResource } from '../oauth/resource.js';
import { hostCheck } from './host-check.js';
import { isRequest, jsonRpcEdge, parseJsonRpcBody, sendInternalError, sendJsonRpcError } from './jsonrpc-edge.js';
import { announceEnded, followFleetSessions, recordSessionChanges, relayAnswers } from './fleet-sessions.js';
import { mcpSessionTable, type McpSession, type McpSessionTable } from './mcp-sessions.js';
import { scopesRequiredFor } from './operation-scopes.js';
import type { Principal } from './principal.js';
import { clientTraceContext } from '../http/trace-context.js';
import { inSpan, spanWanted } from '../ops/tracing.js';
import { requestSessions } from './request-sessions.js';
import type { OpenedStore, VirtualServerStore } from '../store/index.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { Config } from '../config.js';

/**
 * What /mcp builds on: one gateway server per 2025 session (with its tool-call pipeline), the operations a 2026-07-28
 * request runs (absent: the gateway's own), and the scopes each request needs.
 */
export interface GatewayBinding {
  /** `keepsState`: whether the session holds what its store record does not (absent: never), so stays in memory while idle. */
  createServer(context: { principal: Principal; gateway: GatewayState }): { server: Server; callTool?: ToolCaller; keepsState?(): boolean };
  operations?(context: Pick<GatewayOperationsOptions, 'gateway' | 'ask'> & { principal: Principal }): GatewayOperations;
  /** `principal` lets a tool hidden from the caller need what an unknown tool needs. */
  scopesRequiredFor(message: JSONRPCMessage, gateway: GatewayState, principal: Principal): readonly string[];
}

/** Not an issuer of ID-JAGs: the namespace of the `once` values of passed-on request states (modern/input-required.ts). */
const PASSED_STATE_ISSUER = 'gatehouse:passed-input-state';
/** Virtual servers held per process at most: far more than an installation defines. */
const VIRTUAL_SERVERS_CACHED = 1000;

/** What /mcp uses: the guard's credentials, the shared gateway state's services, the upstreams and the sessions' store. */
export interface GatewayRouteDeps extends GatewayStateDeps, GuardDeps {
  /** `trustProxy`: as the app's Fastify has it (the front door reads X-Forwarded-Host as Fastify does); virtual servers are cached as credentials are. */
  config: GatewayStateDeps['config'] & GuardDeps['config'] & Pick<Config, 'trustProxy' | 'credentialCache' | 'shutdownTimeoutSeconds'>;
  store: GatewayStateDeps['store'] & GuardDeps['store'] & Pick<OpenedStore, 'mcpSessions' | 'idJagAssertions' | 'virtualServerChanges'>;
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
  /** The server's front door (app.ts): /mcp is served there, outside Fastify's per-request work. */
  rawRoutes?: RawRoutes;
}

/** What the close steps after the gateway's (upstreams, the audit queue, the database, the log) get of the shutdown deadline. */
const AFTER_DRAIN_MS = 5_000;

/** How long the sessions' requests in flight may take at shutdown: the deadline less AFTER_DRAIN_MS, and at least half of it. */
const drainMs = (shutdownTimeoutSeconds: number): number => Math.max(shutdownTimeoutSeconds * 500, shutdownTimeoutSeconds * 1000 - AFTER_DRAIN_MS);

/**
 * `POST|GET|DELETE /mcp` and `/mcp/{name}`, the MCP Streamable HTTP endpoint. Per request: CORS → Host check (DNS
 * rebinding) → guard (bearer token or API key, every time) → body at the edge (JSON-RPC shape) → scopes → a
 * 2026-07-28 request served statelessly, or the caller's own session → what belongs to direct calls → a `tools/call`
 * answered directly (direct-tool-calls.ts), or else the SDK transport. Served by the server's front door
 * (mcp-front-door.ts) and, the same steps, by Fastify routes for `app.inject`.
 */
export const gatewayRoutes: FastifyPluginAsync<GatewayRouteOptions> = async (app, options) => {
  const { deps } = options;
  const registry = options.upstreams ?? deps.upstreams;
  const binding = options.gateway ?? { createServer: createGatewaySession, operations: gatewayOperations, scopesRequiredFor };
  // Built once here and shared by every session of this gateway.
  const metrics = registryOf(app);
  // Read by the guard and again by the listing or call: once from the store while it is unchanged.
  const virtualServers = cachedVirtualServers(deps.store.virtualServers, {
    notifications: deps.store.notifications,
    localChanges: deps.store.virtualServerChanges,
    ttlMs: deps.config.credentialCache.ttlSeconds * 1000,
    fallbackTtlMs: deps.config.credentialCache.unheardTtlSeconds * 1000,
    maxEntries: VIRTUAL_SERVERS_CACHED,
  });
  const gateway = createGatewayState({ registry, deps: { ...deps, store: { ...deps.store, virtualServers } }, logger: app.log, metrics });
  app.addHook('onClose', async () => {
    gateway.close();
    virtualServers.close();
  });
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
  const sessionFor = requestSessions({ sessions, store: sessionStore, binding, gateway });
  const stopSweeping = sessions.startSweeping();
  const stopFollowing = followFleetSessions(deps.store.notifications, sessions, onSessionError);
  // Taken before the drain's hook is added, so that /mcp counts as closing (new requests refused) while calls drain.
  const appHooks = appHooksOf(app, deps.config.trustProxy);
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
    stopSweeping();
    // Streams that never end on their own end now; the sessions' requests in flight (their calls, answered as JSON or
    // as a stream) finish, within the shutdown's deadline less what the later close steps need. Answers relayed from
    // other replicas still reach them meanwhile. What is left then is cut, as its session's copy closes.
    listen.closeAll();
    sessions.endStreams();
    await sessions.drained(drainMs(deps.config.shutdownTimeoutSeconds));
    fleetRuns.stop();
    stopFollowing();
    await sessions.closeAll();
  });

  const hostAllowed = hostCheck(deps.config.publicUrl);
  // The audience a token must name at /mcp, made once: canonicalizing it is a URL parse.
  const mcpResource = gatewayResource(deps.config.publicUrl);
  /**
   * The steps of every /mcp request, from CORS to the answer, whichever way it came in (below). One async function
   * for the common request's steps: each step that usually completes at once (the session found in memory, nothing
   * to record or relay) is awaited only when it did not, since every async layer and await costs promises and turns
   * of the microtask queue on every call (bench/README.md).
   */
  const serve = async (exchange: McpExchange) => {
    try {
      if (!crossOrigin(exchange)) return;
      if (!hostAllowed(exchange.host)) {
        return sendJsonRpcError(exchange, 403, TRANSPORT_ERROR, `Host ${JSON.stringify(exchange.host)} is not this server's; use ${deps.config.publicUrl}/mcp`);
      }
      const principal =
        exchange.virtualServer === undefined
          ? callerOf(deps, exchange, await guardRequest(deps, { authorization: exchange.request.headers.authorization, query: exchange.query, resource: mcpResource }))
          : await guardVirtualServer(deps, virtualServers, exchange, exchange.virtualServer);
      if (!principal) return;
      const read = readBodyText(exchange);
      const body = bodyOf(exchange, read instanceof Promise ? await read : read);
      if (body === undefined) return;
      // Closing: answers and notifications for the calls in flight still come in (mcp-front-door.ts), new requests do not.
      if (appHooks.isClosing() && body.messages.some(isRequest)) return refuseWhileClosing(exchange.response);
      if (!checkScopes(body.messages, principal, exchange)) return;
      if (isModernRequest(exchange.request.method!, exchange.request.headers, body.messages)) return await serveModern(exchange, principal, body);
      // A 2025 request: the caller's own session → what belongs to direct calls → a direct `tools/call`, or the SDK transport.
      const found = sessionFor(exchange, principal, body.messages);
      const session = found instanceof Promise ? await found : found;
      if (!session) return;
      // Most requests change nothing of the session and relay no answer: those steps then cost no await.
      const recorded = recordSessionChanges(session, body.messages, sessionStore, deps.store.notifications);
      if (recorded) await recorded;
      const relayed = relayAnswers(session, takeDirectMessages(session.direct, body.messages), deps.store.notifications, onSessionError);
      const rest = Array.isArray(relayed) ? relayed : await relayed;
      if (rest.length === 0 && body.messages.length > 0) return sendNoBody(exchange, 202);
      await inSession(exchange, session, body, rest);
    } catch (error) {
      exchange.log.error({ err: error }, 'mcp request failed');
      sendInternalError(exchange);
    }
  };

  /** The answer to a 2025 request in its session: a direct `tools/call`, or else the SDK transport's; in its MCP span when one will be made. */
  const inSession = (exchange: McpExchange, session: McpSession, body: JsonRpcBody, rest: JSONRPCMessage[]): Promise<void> => {
    const { request } = exchange;
    // A batch is answered as one by the SDK, even a batch of one call.
    const call = request.method === 'POST' && !Array.isArray(body.body) ? directCallOf(session, request.headers, rest) : undefined;
    const forSdk = call || rest.length !== body.messages.length ? rest : body.body;
    const span = mcpSpanOf(request, rest);
    return span ? inSpan(span.name, span.attributes, () => answer(exchange, session, call, forSdk), span.options) : answer(exchange, session, call, forSdk);
  };

  /**
   * A span per MCP request (its method, and the tool of a call), child of the HTTP request's span, or, when the
   * client sent no traceparent header, of the trace context in the request's `_meta` (MCP 2026-07-28).
   */
  const inMcpSpan = <T>(request: IncomingMessage, messages: JSONRPCMessage[], work: () => Promise<T>): Promise<T> => {
    const span = mcpSpanOf(request, messages);
    return span ? inSpan(span.name, span.attributes, work, span.options) : work();
  };

  /** The MCP span `messages` get, or undefined when none will be made (its name and attributes are made only for a span that will be). */
  const mcpSpanOf = (request: IncomingMessage, messages: JSONRPCMessage[]) => {
    const first = messages.find(isRequest);
    if (!first) return undefined;
    const params = (first.params ?? {}) as { name?: unknown; _meta?: Record<string, unknown> };
    // Without `_meta` the request carries no trace of its own (the context it would give has no span).
    const fromMeta = typeof request.headers.traceparent === 'string' || params._meta === undefined ? undefined : clientTraceContext({}, params._meta);
    const parent = fromMeta && trace.getSpan(fromMeta) ? fromMeta : undefined;
    if (!spanWanted(parent)) return undefined;
    const attributes: Record<string, string> = { 'mcp.method.name': first.method };
    if (first.method === 'tools/call' && typeof params.name === 'string') attributes['gen_ai.tool.name'] = params.name;
    return { name: `MCP ${first.method}`, attributes, options: parent ? { parent } : {} };
  };

  /** A 2026-07-28 request: no session, one message per POST (modern/stateless-requests.ts writes the answer). */
  const serveModern = async (exchange: McpExchange, principal: Principal, body: JsonRpcBody) => {
    if (Array.isArray(body.body)) return sendJsonRpcError(exchange, 400, ErrorCode.InvalidRequest, 'Invalid Request: MCP 2026-07-28 has no batches');
    const response = handOver(exchange);
    await inMcpSpan(exchange.request, body.messages, () => serveStateless(stateless, principal, exchange.request.headers, body.messages[0]!, response));
  };

  /** POST carries JSON-RPC; GET (the server's stream) and DELETE (end of session) carry nothing. `read`: readBodyText's. */
  const bodyOf = (exchange: McpExchange, read: BodyText): JsonRpcBody | undefined => {
    if (!read.ok) return void sendJsonRpcError(exchange, read.status, read.code, read.message, read.closeConnection ? { connection: 'close' } : {});
    if (read.text === undefined) {
      if (exchange.request.method !== 'POST') return NO_MESSAGES;
      return void sendJsonRpcError(exchange, 415, TRANSPORT_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const edge = parseJsonRpcBody(read.text);
    if (!edge.ok) return void sendJsonRpcError(exchange, edge.status, edge.code, edge.message);
    return edge;
  };

  /** Every scope any request of the body needs, in one 403 challenge when the caller lacks one of them. */
  const checkScopes = (messages: JSONRPCMessage[], principal: Principal, exchange: McpExchange): boolean => {
    const required = (message: JSONRPCMessage) => (isRequest(message) ? binding.scopesRequiredFor(message, gateway, principal) : []);
    // The common case (every scope held) builds no set, and no closure.
    if (holdsScopes(messages, principal, binding, gateway)) return true;
    const needed = new Set(messages.flatMap(required));
    sendInsufficientScope(exchange, deps.config.publicUrl, [...needed], principal.virtualServer);
    return false;
  };

  /** The SDK (or the direct path: `call`) writes the response itself, JSON or SSE. */
  const answer = (exchange: McpExchange, session: McpSession, call: DirectCall | undefined, forSdk: unknown): Promise<void> => {
    const done = sessions.begin(session);
    // 'close' comes once: `on` spares the wrapper and the removal `once` makes per request.
    exchange.response.on('close', done);
    // The direct answer takes the exchange's headers into its one writeHead, and answers its faults itself; its
    // session is one the SDK initialized, so has its id. Returned as it is: no async layer of its own.
    return call ? answerDirectly(session, call, exchange) : answerBySdk(exchange, session, forSdk);
  };

  /** The SDK's transport finds the exchange's headers set. */
  const answerBySdk = async (exchange: McpExchange, session: McpSession, forSdk: unknown) => {
    try {
      await session.transport.handleRequest(exchange.request, handOver(exchange), forSdk);
    } catch (error) {
      exchange.log.error({ err: error }, 'mcp transport failed');
      sendInternalError(exchange);
    }
    // A new session whose initialization the SDK refused never joined the table: release its server.
    if (session.transport.sessionId === undefined) await session.server.close();
  };

  // Through Fastify (`app.inject`, a gateway mounted alone): /mcp's answers are still written by the steps above.
  jsonRpcEdge(app);
  const bodyLimit = app.initialConfig.bodyLimit ?? DEFAULT_BODY_LIMIT;
  // /mcp/{name}: a virtual server, the same endpoint showing only its tools (the guard resolves which).
  for (const url of MCP_ROUTES) {
    app.route({
      method: ['POST', 'GET', 'DELETE', 'OPTIONS'],
      url,
      handler: async (request, reply) => {
        reply.hijack();
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = String(value);
        const queryAt = request.url.indexOf('?');
        const name = (request.params as { name?: string }).name;
        await serve({ request: request.raw, response: reply.raw, headers, log: request.log, host: request.host, query: queryAt < 0 ? '' : request.url.slice(queryAt + 1), virtualServer: name, bodyLimit });
      },
    });
  }
  // Through the front door (app.ts): the same steps, and what the app's hooks do for every other route.
  options.rawRoutes?.mount(isMcpPath, mcpFrontDoor({ serve, bodyLimit, ...appHooks }));
};

/** Whether `principal` holds every scope the requests among `messages` need. */
function holdsScopes(messages: JSONRPCMessage[], principal: Principal, binding: Pick<GatewayBinding, 'scopesRequiredFor'>, gateway: GatewayState): boolean {
  for (const message of messages) {
    if (!isRequest(message)) continue;
    for (const scope of binding.scopesRequiredFor(message, gateway, principal)) if (!principal.scopes.has(scope)) return false;
  }
  return true;
}

/** A POST's JSON-RPC (`body` as parsed, `messages` as validated); none for GET and DELETE. */
type JsonRpcBody = { body: unknown; messages: JSONRPCMessage[] };

const NO_MESSAGES: JsonRpcBody = Object.freeze({ body: undefined, messages: Object.freeze([]) as unknown as JSONRPCMessage[] });

/** The guard's caller, or undefined once a refusal has answered the request: the first step of every /mcp request after the Host check. */
function callerOf(deps: GatewayRouteDeps, exchange: McpExchange, outcome: GuardOutcome, virtualServer?: string): Principal | undefined {
  if (outcome.kind === 'caller') return outcome.principal;
  return void sendGuardRefusal(exchange, deps.config.publicUrl, outcome, virtualServer);
}

/** The guard at `/mcp/{name}`: the virtual server must exist and be open to the caller. */
async function guardVirtualServer(deps: GatewayRouteDeps, virtualServers: Pick<VirtualServerStore, 'find'>, exchange: McpExchange, name: string): Promise<Principal | undefined> {
  const virtualServer = VIRTUAL_SERVER_NAME.test(name) ? await virtualServers.find(name) : undefined;
  if (!virtualServer) return void sendJsonRpcError(exchange, 404, TRANSPORT_ERROR, `No virtual server is named ${JSON.stringify(name)}`);
  const outcome = await guardRequest(deps, {
    authorization: exchange.request.headers.authorization,
    query: exchange.query,
    resource: virtualServerResource(deps.config.publicUrl, virtualServer.name),
  });
  const principal = callerOf(deps, exchange, outcome, virtualServer.name);
  if (!principal) return undefined;
  if (!virtualServerOpenTo(virtualServer, principal)) {
    return void sendJsonRpcError(exchange, 403, TRANSPORT_ERROR, `You are not among the users allowed to use the virtual server ${JSON.stringify(virtualServer.name)}`);
  }
  return { ...principal, virtualServer: virtualServer.name };
}
