import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { RawHandler } from '../http/raw-routes.js';
import { lazyChildLogger, requestIdFrom } from '../log.js';
import type { HttpRequestObserver } from '../ops/metrics.js';
import { startRequestSpan } from '../ops/tracing.js';
import { CROSS_ORIGIN_HEADERS } from '../oauth/cors.js';
import { sendInternalError } from './jsonrpc-edge.js';
import type { McpExchange } from './mcp-exchange.js';

/** /mcp's route templates, as Fastify names them (metrics labels, span names). */
export const MCP_ROUTES = ['/mcp', '/mcp/:name'] as const;
/** Fastify's default body limit, for a Fastify built without one. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const CLAIMED_METHODS: ReadonlySet<string> = new Set(['POST', 'GET', 'DELETE', 'OPTIONS']);
/** Fastify's router refuses longer parameters (find-my-way `maxParamLength`): such paths stay with its answer. */
const MAX_NAME_LENGTH = 100;

/**
 * What the front door takes: `/mcp` and `/mcp/{name}` with a plain name, by the methods /mcp serves. Anything else
 * (HEAD, an escaped or overlong name, `/mcp/a/b`) stays with Fastify and is answered as it always was.
 */
export function isMcpPath(method: string, path: string): boolean {
  if (!CLAIMED_METHODS.has(method)) return false;
  if (path === '/mcp') return true;
  if (!path.startsWith('/mcp/')) return false;
  const name = path.slice('/mcp/'.length);
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && !/[/%]/.test(name);
}

export interface FrontDoorDeps {
  /** /mcp's own steps (mcp-routes.ts). */
  serve(exchange: McpExchange): Promise<void>;
  log: FastifyBaseLogger;
  /** Fastify's `trustProxy` (a boolean in Gatehouse's config): whether X-Forwarded-Host and -For are believed. */
  trustProxy: boolean;
  bodyLimit: number;
  observe: HttpRequestObserver;
  /** True once the app closes: requests are then refused as Fastify refuses them (`return503OnClosing`). */
  isClosing(): boolean;
}

const INFO = pino.levels.values.info!;
const SERVICE_UNAVAILABLE = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';

/**
 * /mcp served on node:http's objects (http/raw-routes.ts), with what the app's Fastify hooks do for every other route:
 * the request id (kept from X-Request-Id when harmless, echoed), the request's server span, the HTTP metrics, the
 * access log lines at `info`, and 503 while closing.
 */
export function mcpFrontDoor(deps: FrontDoorDeps): RawHandler {
  const enter = frontDoorSteps(deps);
  // Outside Fastify nothing else catches: a fault here, thrown or rejected, must not take the process down, and its
  // answer is still one of /mcp's (request id, CORS, JSON-RPC error), as the steps' own fault answer is (mcp-routes.ts).
  return (request, response) => {
    const id = requestIdFrom(request);
    const lastResort = (error: unknown) => {
      deps.log.error({ err: error, reqId: id }, 'mcp request failed');
      sendInternalError({ response, headers: { 'x-request-id': id, ...CROSS_ORIGIN_HEADERS } });
    };
    try {
      enter(request, response, id)?.catch(lastResort);
    } catch (error) {
      lastResort(error);
    }
  };
}

/** Resolves once /mcp's steps are done; undefined when the request was answered at once (closing). */
function frontDoorSteps(deps: FrontDoorDeps): (request: IncomingMessage, response: ServerResponse, id: string) => Promise<void> | undefined {
  return (request, response, id) => {
    if (deps.isClosing()) {
      response.writeHead(503, { connection: 'close', 'content-type': 'application/json', 'content-length': SERVICE_UNAVAILABLE.length }).end(SERVICE_UNAVAILABLE);
      return undefined;
    }
    const started = performance.now();
    const log = lazyChildLogger(deps.log, { reqId: id }, {});
    const url = request.url ?? '/mcp';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const virtualServer = path === MCP_ROUTES[0] ? undefined : path.slice('/mcp/'.length);
    const route = virtualServer === undefined ? MCP_ROUTES[0] : MCP_ROUTES[1];
    const host = hostOf(request, deps.trustProxy);
    const logsRequests = (pino.levels.values[deps.log.level] ?? Number.POSITIVE_INFINITY) <= INFO;
    if (logsRequests) log.info({ req: { method: request.method, url, host, ip: ipOf(request, deps.trustProxy) } }, 'incoming request');
    response.once('finish', () => {
      const elapsedMs = performance.now() - started;
      deps.observe(request.method!, route, response.statusCode, elapsedMs / 1000);
      if (logsRequests) log.info({ res: { statusCode: response.statusCode }, responseTime: elapsedMs }, 'request completed');
    });
    const exchange: McpExchange = {
      request,
      response,
      headers: { 'x-request-id': id },
      log,
      host,
      query: queryAt < 0 ? '' : url.slice(queryAt + 1),
      virtualServer,
      bodyLimit: deps.bodyLimit,
    };
    const traceContext = startRequestSpan(request, response, route);
    return traceContext ? context.with(traceContext, () => deps.serve(exchange)) : deps.serve(exchange);
  };
}

/** Fastify's `request.host`: the last X-Forwarded-Host behind a trusted proxy, else Host. */
function hostOf(request: IncomingMessage, trustProxy: boolean): string {
  const forwarded = request.headers['x-forwarded-host'];
  if (trustProxy && typeof forwarded === 'string' && forwarded !== '') return forwarded.slice(forwarded.lastIndexOf(',') + 1).trim();
  return request.headers.host ?? '';
}

/** Fastify's `request.ip`: the client named first in X-Forwarded-For behind a trusted proxy, else the socket's peer. */
function ipOf(request: IncomingMessage, trustProxy: boolean): string | undefined {
  const forwarded = request.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string' && forwarded !== '') return forwarded.split(',', 1)[0]!.trim();
  return request.socket.remoteAddress;
}
