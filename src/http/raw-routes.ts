import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Answers a request on node:http's own objects, outside Fastify. */
export type RawHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Which requests a raw handler takes: by method and path (the URL without its query). */
export type RawClaim = (method: string, path: string) => boolean;

/**
 * The node:http server's request listener, in front of Fastify: a request a mounted handler claims goes to it, the
 * rest to Fastify's router. For an endpoint whose every request must be cheap (/mcp), Fastify's per-request work
 * (its request and reply objects, hooks, router, child logger) is then not paid; the handler does what the app's
 * hooks would have done for it (request id, tracing, metrics, access log). `app.inject` goes to Fastify's router
 * directly, so a surface mounted here keeps a Fastify route too (the same handler behind it).
 */
export interface RawRoutes {
  mount(claims: RawClaim, handler: RawHandler): void;
  /** Fastify's `serverFactory`: the server it listens with. */
  serverFactory(fastifyHandler: RawHandler, options: ServerTimeouts): Server;
}

/** What Fastify sets on the servers it makes itself (lib/server.js), kept on this one. */
interface ServerTimeouts {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number;
}

export function rawRoutes(): RawRoutes {
  const mounted: Array<{ claims: RawClaim; handler: RawHandler }> = [];
  const handlerFor = (request: IncomingMessage): RawHandler | undefined => {
    if (mounted.length === 0) return undefined;
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    return mounted.find(({ claims }) => claims(request.method ?? 'GET', path))?.handler;
  };
  return {
    mount(claims, handler) {
      mounted.push({ claims, handler });
    },
    serverFactory(fastifyHandler, options) {
      const server = createServer((request, response) => (handlerFor(request) ?? fastifyHandler)(request, response));
      if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
      if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
      server.setTimeout(options.connectionTimeout ?? 0);
      if (options.maxRequestsPerSocket && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
      return server;
    },
  };
}
