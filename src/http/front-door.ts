import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import type { RawHandler } from './raw-routes.js';
import { lazyChildLogger, requestIdFrom } from '../log.js';
import { httpObserverOf, type HttpRequestObserver } from '../ops/metrics.js';
import { startRequestSpan } from '../ops/tracing.js';

/** One request as the front door hands it on: what the app's Fastify hooks would have worked out for it. */
export interface DoorRequest {
  /** The request id (X-Request-Id when harmless), to echo and to log with. */
  id: string;
  /** The request's logger (`reqId`), made on its first message. */
  log: FastifyBaseLogger;
  /** The URL without its query. */
  path: string;
  /** The query string, '' when there is none. */
  query: string;
  /** Fastify's `request.host`. */
  host: string;
  /** Fastify's `request.ip`. */
  ip: string | undefined;
}

export interface FrontDoorOptions {
  log: FastifyBaseLogger;
  /** Fastify's `trustProxy` (a boolean in Gatehouse's config): whether X-Forwarded-Host and -For are believed. */
  trustProxy: boolean;
  observe: HttpRequestObserver;
  /** True once the app closes: requests are then refused as Fastify refuses them (`return503OnClosing`). */
  isClosing(): boolean;
  /** While closing, the requests still let in (the endpoint then decides): those that may carry what work in flight waits for. */
  admitsWhileClosing?(request: IncomingMessage): boolean;
  /** The route template Fastify would name (metrics labels, span names). */
  routeOf(path: string): string;
  /** The endpoint's own steps; they answer every outcome themselves. */
  serve(request: IncomingMessage, response: ServerResponse, door: DoorRequest): Promise<void>;
  /** Logs a fault that escaped `serve`, thrown or rejected, and answers it (something may have been written already). */
  answerFault(error: unknown, response: ServerResponse, requestId: string): void;
}

/** What a front door takes from the Fastify app it stands in front of. */
export type AppHooks = Pick<FrontDoorOptions, 'log' | 'trustProxy' | 'observe' | 'isClosing'>;

/** The app's logger, metrics and proxy trust, and its closing: Fastify answers 503 once it closes, and so does a front door. */
export function appHooksOf(app: FastifyInstance, trustProxy: boolean): AppHooks {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  return { log: app.log, trustProxy, observe: httpObserverOf(app), isClosing: () => closing };
}

const INFO = pino.levels.values.info!;
const SERVICE_UNAVAILABLE = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';

/**
 * An endpoint served on node:http's objects (raw-routes.ts), with what the app's Fastify hooks do for every other
 * route: the request id (kept from X-Request-Id when harmless, echoed by the endpoint), the request's server span, the
 * HTTP metrics, the access log lines at `info`, and 503 while closing. Used by /mcp and POST /oauth/token.
 */
export function frontDoor(options: FrontDoorOptions): RawHandler {
  const enter = doorSteps(options);
  // Outside Fastify nothing else catches: a fault here, thrown or rejected, must not take the process down.
  return (request, response) => {
    const id = requestIdFrom(request);
    const fault = (error: unknown) => options.answerFault(error, response, id);
    try {
      enter(request, response, id)?.catch(fault);
    } catch (error) {
      fault(error);
    }
  };
}

/** Fastify's answer once it is closing (`return503OnClosing`): 503, and the connection closed so the client goes elsewhere. */
export function refuseWhileClosing(response: ServerResponse): void {
  response.writeHead(503, { connection: 'close', 'content-type': 'application/json', 'content-length': SERVICE_UNAVAILABLE.length }).end(SERVICE_UNAVAILABLE);
}

/** Resolves once the endpoint's steps are done; undefined when the request was answered at once (closing). */
function doorSteps(options: FrontDoorOptions): (request: IncomingMessage, response: ServerResponse, id: string) => Promise<void> | undefined {
  return (request, response, id) => {
    if (options.isClosing() && !options.admitsWhileClosing?.(request)) return void refuseWhileClosing(response);
    const started = performance.now();
    const log = lazyChildLogger(options.log, { reqId: id }, {});
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const route = options.routeOf(path);
    const host = hostOf(request, options.trustProxy);
    const ip = ipOf(request, options.trustProxy);
    const logsRequests = (pino.levels.values[options.log.level] ?? Number.POSITIVE_INFINITY) <= INFO;
    if (logsRequests) log.info({ req: { method: request.method, url, host, ip } }, 'incoming request');
    // `on`, not `once`: 'finish' comes once, and `once` would wrap the listener and remove it again on every request.
    response.on('finish', () => {
      const elapsedMs = performance.now() - started;
      options.observe(request.method!, route, response.statusCode, elapsedMs / 1000);
      if (logsRequests) log.info({ res: { statusCode: response.statusCode }, responseTime: elapsedMs }, 'request completed');
    });
    const door: DoorRequest = { id, log, path, query: queryAt < 0 ? '' : url.slice(queryAt + 1), host, ip };
    const traceContext = startRequestSpan(request, response, route);
    return traceContext ? context.with(traceContext, () => options.serve(request, response, door)) : options.serve(request, response, door);
  };
}

/** Fastify's `request.host`: the last X-Forwarded-Host behind a trusted proxy, else Host. */
function hostOf(request: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? request.headers['x-forwarded-host'] : undefined;
  if (typeof forwarded === 'string' && forwarded !== '') return forwarded.slice(forwarded.lastIndexOf(',') + 1).trim();
  return request.headers.host ?? '';
}

/** Fastify's `request.ip`: the client named first in X-Forwarded-For behind a trusted proxy, else the socket's peer. */
function ipOf(request: IncomingMessage, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? request.headers['x-forwarded-for'] : undefined;
  if (typeof forwarded === 'string' && forwarded !== '') return forwarded.split(',', 1)[0]!.trim();
  return request.socket.remoteAddress;
}
