import type { Socket } from 'node:net';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { buildConnector, Client } from 'undici';
import type { BearerSource } from '../oauth/bearer-fetch.js';
import type { StatelessIdentity } from './protocol-eras.js';

/**
 * The HTTP side of direct-requests.ts: what its requests share on one upstream: its kept-alive undici
 * connections (Connections, below), the session's headers (its SDK client's session id and protocol version) or, once the
 * upstream is found to speak the stateless era (`stateless` set), that era's version header and no session, the
 * static headers or the bearer token. Each request is an Exchange (upstream-exchange.ts).
 */

export interface UpstreamHttpOptions {
  url: URL;
  /** Static headers of the upstream (auth_type headers); sent on every request. */
  headers: Record<string, string>;
  /** OAuth upstreams: `authorization: Bearer <token>` on every request; on HTTP 401 renewed once and sent again. */
  bearer?: BearerSource;
  /** The SDK client's transport: its session id and version, and where notifications (onmessage) and trouble (onerror) go. */
  transport: Pick<StreamableHTTPClientTransport, 'sessionId' | 'protocolVersion' | 'onmessage' | 'onerror'>;
}

type Headers = Record<string, string>;

/**
 * Idle kept-alive sockets are closed after this, before a server's usual 5 s keep-alive timeout closes them under a
 * request (undici also honours a shorter `Keep-Alive: timeout` hint). Sockets in use are not affected.
 */
const IDLE_SOCKET_MS = 4000;

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/** What a socket had read when it was connected (a TLS handshake's bytes): more than that later means it carried an answer. */
const readAtConnect = new WeakMap<Socket, number>();
/** Errors of sockets that had carried an answer before (kept-alive ones): see `isReusedSocketError`. */
const reusedSocketErrors = new WeakSet<Error>();

function onSocketError(this: Socket, error: Error) {
  if (this.bytesRead > (readAtConnect.get(this) ?? 0)) reusedSocketErrors.add(error);
}

/** undici's connector, with each socket's errors marked when the socket had been used before. */
function markingConnector(): buildConnector.connector {
  const connect = buildConnector({});
  return (options, callback) =>
    connect(options, (...args) => {
      const socket = args[1];
      if (socket) {
        readAtConnect.set(socket, socket.bytesRead);
        // Added before undici's own listeners, so the error is marked before undici fails the request with it.
        socket.on('error', onSocketError);
      }
      callback(...args);
    });
}

/**
 * A reset or close of a kept-alive socket (one that had carried an answer before), which undici reports for the
 * request written on it as it was closed (Node's `request.reusedSocket` and `ECONNRESET`).
 */
export function isReusedSocketError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') && reusedSocketErrors.has(error);
}

/**
 * Kept-alive connections to one origin, an undici Client each (pipelining 1): a request takes one with nothing in
 * flight, the most recently used first. undici's Pool would open another connection for a request sent right after
 * an answer, as its connection is handed back only a turn of the event loop later; a Client given a request then
 * sends it on the same socket once it can.
 */
export class Connections {
  private readonly idle: Client[] = [];
  private readonly all = new Set<Client>();
  private readonly options: Client.Options;
  private closed = false;

  constructor(private readonly origin: string) {
    this.options = {
      keepAliveTimeout: IDLE_SOCKET_MS,
      keepAliveMaxTimeout: IDLE_SOCKET_MS,
      // A call has its own timeout (and a listen stream none): undici's own ones (300 s each) would cut streams.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: markingConnector(),
    };
  }

  take(): Client {
    const client = this.idle.pop();
    if (client) return client;
    const created = new Client(this.origin, this.options);
    this.all.add(created);
    return created;
  }

  /** `client`'s request ended (answered, failed or dropped). */
  give(client: Client): void {
    if (!this.closed) this.idle.push(client);
  }

  destroy(): void {
    this.closed = true;
    for (const client of this.all) client.destroy().catch(() => undefined);
    this.all.clear();
    this.idle.length = 0;
  }
}

/** What one DirectRequests instance shares between its calls: the pool, the session's headers, the bearer token. */
export class UpstreamHttp {
  closed = false;
  /** Set when the upstream speaks the stateless era (2026-07-28): no session, this version on every request. */
  stateless?: StatelessIdentity;
  readonly connections: Connections;
  readonly path: string;
  private counter = 0;
  private readonly postBase: Headers;
  private readonly getBase: Headers;
  private cached?: { sessionId?: string; protocolVersion?: string; token?: string; headers: Headers };

  constructor(readonly options: UpstreamHttpOptions) {
    const { url } = options;
    this.connections = new Connections(url.origin);
    this.path = url.pathname + url.search;
    const statics: Headers = {};
    for (const [name, value] of Object.entries(options.headers)) statics[name.toLowerCase()] = value;
    this.postBase = { ...statics, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    this.getBase = { ...statics, accept: 'text/event-stream' };
  }

  nextId(): string {
    return `gatehouse-${++this.counter}`;
  }

  report(error: unknown): void {
    if (!this.closed) this.options.transport.onerror?.(asError(error));
  }

  /**
   * POST headers with the session's current id and version and `token`, the same object while they stay the same;
   * `routing`: a stateless request's `Mcp-Method`/`Mcp-Name` headers, added to a copy.
   */
  postHeaders(token: string | undefined, routing: Headers | undefined): Headers {
    const { sessionId } = this.options.transport;
    const protocolVersion = this.stateless?.protocolVersion ?? this.options.transport.protocolVersion;
    let cached = this.cached;
    if (!cached || cached.sessionId !== sessionId || cached.protocolVersion !== protocolVersion || cached.token !== token) {
      cached = this.cached = { sessionId, protocolVersion, token, headers: this.withSession({ ...this.postBase }, token) };
    }
    return routing ? { ...cached.headers, ...routing } : cached.headers;
  }

  /** GET headers for the session's stream after `lastEventId`. */
  getHeaders(token: string | undefined, lastEventId: string | undefined): Headers {
    const headers = this.withSession({ ...this.getBase }, token);
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    return headers;
  }

  private withSession(headers: Headers, token: string | undefined): Headers {
    const { sessionId, protocolVersion } = this.options.transport;
    if (this.stateless) headers['mcp-protocol-version'] = this.stateless.protocolVersion;
    else {
      if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
      if (protocolVersion !== undefined) headers['mcp-protocol-version'] = protocolVersion;
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  close(): void {
    this.closed = true;
    this.connections.destroy();
  }
}
