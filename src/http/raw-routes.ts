import dns from 'node:dns';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Answers a request on node:http's own objects, outside Fastify. */
export type RawHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Which requests a raw handler takes: by method, path (the URL without its query) and, if it must, headers. */
export type RawClaim = (method: string, path: string, headers: IncomingHttpHeaders) => boolean;

/**
 * The node:http server's request listener, in front of Fastify: a request a mounted handler claims goes to it, the
 * rest to Fastify's router. For an endpoint whose every request must be cheap (/mcp, POST /oauth/token), Fastify's per-request work
 * (its request and reply objects, hooks, router, child logger) is then not paid; the handler does what the app's
 * hooks would have done for it (request id, tracing, metrics, access log). `app.inject` goes to Fastify's router
 * directly, so a surface mounted here keeps a Fastify route too (the same handler behind it).
 */
export interface RawRoutes {
  mount(claims: RawClaim, handler: RawHandler): void;
  /** Fastify's `serverFactory`: the server it listens with. */
  serverFactory(fastifyHandler: RawHandler, options: ServerTimeouts): Server;
  /**
   * When `app` listens on `host` `localhost`: Fastify listens on each of its addresses (::1 beside 127.0.0.1) only
   * with servers of its own making (lib/server.js `multipleBindings`), on one with a serverFactory's. The others are
   * bound here, each by a server like the first, closed when the app closes (as Fastify's are, failures ignored).
   * Fastify's `listen` resolves before they are bound: the function returned resolves once they are.
   */
  bindLocalhostTwins(app: FastifyInstance, host: string): () => Promise<void>;
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
  /** Set once Fastify asked for its server: another like it. */
  let makeServer: (() => Server) | undefined;
  const handlerFor = (request: IncomingMessage): RawHandler | undefined => {
    if (mounted.length === 0) return undefined;
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const method = request.method ?? 'GET';
    return mounted.find(({ claims }) => claims(method, path, request.headers))?.handler;
  };
  return {
    mount(claims, handler) {
      mounted.push({ claims, handler });
    },
    serverFactory(fastifyHandler, options) {
      makeServer = () => {
        const server = createServer((request, response) => (handlerFor(request) ?? fastifyHandler)(request, response));
        if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
        if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
        server.setTimeout(options.connectionTimeout ?? 0);
        if (options.maxRequestsPerSocket && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
        return server;
      };
      return makeServer();
    },
    bindLocalhostTwins(app, host) {
      if (host !== 'localhost') return async () => undefined;
      const twins: Server[] = [];
      let bound: Promise<void> | undefined;
      const bindTwins = async () => {
        const primary = app.server.address() as AddressInfo;
        // Fastify looks its addresses up the same way (dns.lookup, all of them; a failure binds nothing more).
        const addresses = await new Promise<dns.LookupAddress[]>((resolve) => dns.lookup(host, { all: true }, (error, found) => resolve(error ? [] : found)));
        for (const { address } of addresses) {
          if (address === primary.address || !makeServer) continue;
          const twin = makeServer();
          await new Promise<void>((resolve) => twin.once('error', () => resolve()).listen(primary.port, address, resolve));
          if (twin.listening) twins.push(twin);
        }
      };
      app.addHook('onListen', async () => {
        bound ??= bindTwins();
      });
      app.addHook('preClose', async () => {
        for (const twin of twins.splice(0)) {
          twin.close();
          twin.closeIdleConnections();
        }
      });
      return async () => {
        bound ??= bindTwins();
        await bound;
      };
    },
  };
}
