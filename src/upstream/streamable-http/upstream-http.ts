import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { BearerSource } from '../oauth/bearer-fetch.js';
import type { StatelessIdentity } from './protocol-eras.js';
import { withTraceHeaders } from '../../http/trace-context.js';

/**
 * The HTTP side of direct-requests.ts: requests on an upstream's Streamable HTTP session (its SDK client's session id
 * and protocol version) or, once the upstream is found to speak the stateless era (`stateless` set), without a
 * session and with that era's version header; over one keep-alive agent, with the static headers or the bearer token
 * and its one renewal.
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

/** How much of an error response's body goes into the error. */
const ERROR_TEXT_LIMIT = 4096;
/**
 * Idle kept-alive sockets are closed after this, before a server's usual 5 s keep-alive timeout closes them under a
 * request (Node also honours a shorter `Keep-Alive: timeout` hint). Sockets in use are not affected.
 */
const IDLE_SOCKET_MS = 4000;

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/** A socket or HTTP-level failure of a request (as opposed to the bearer source's own errors, which propagate). */
export class Broken extends Error {
  constructor(readonly reason: unknown) {
    super('Upstream request failed');
  }
}

/** The start of a response's body as text; the rest is drained (or, past 64 KiB, the response destroyed). */
export function readText(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let seen = 0;
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (text.length < ERROR_TEXT_LIMIT) text += chunk.slice(0, ERROR_TEXT_LIMIT - text.length);
      if ((seen += chunk.length) > 16 * ERROR_TEXT_LIMIT) response.destroy();
    });
    response.on('error', () => undefined);
    response.on('close', () => resolve(text));
  });
}

/** What one DirectRequests instance shares between its calls: the agent, the session's headers, the bearer token. */
export class UpstreamHttp {
  closed = false;
  /** Set when the upstream speaks the stateless era (2026-07-28): no session, this version on every request. */
  stateless?: StatelessIdentity;
  private counter = 0;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly target: RequestOptions;
  readonly postBase: OutgoingHttpHeaders;
  readonly getBase: OutgoingHttpHeaders;
  private cached?: { sessionId?: string; protocolVersion?: string; token?: string; headers: OutgoingHttpHeaders };

  constructor(readonly options: UpstreamHttpOptions) {
    const { url } = options;
    const secure = url.protocol === 'https:';
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_MS };
    this.agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = secure ? httpsRequest : httpRequest;
    this.target = {
      agent: this.agent,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : url.port,
      path: url.pathname + url.search,
    };
    const statics: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(options.headers)) statics[name.toLowerCase()] = value;
    this.postBase = { ...statics, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    this.getBase = { ...statics, accept: 'text/event-stream' };
  }

  nextId(): string {
    return `gatehouse-${++this.counter}`;
  }

  report(error: unknown): void {
    if (!this.closed) this.options.transport.onerror?.(asError(error instanceof Broken ? error.reason : error));
  }

  /** POST headers with the session's current id and version and `token`; the same object while they stay the same. */
  private postHeaders(token: string | undefined): OutgoingHttpHeaders {
    const { sessionId } = this.options.transport;
    const protocolVersion = this.stateless?.protocolVersion ?? this.options.transport.protocolVersion;
    const cached = this.cached;
    if (cached && cached.sessionId === sessionId && cached.protocolVersion === protocolVersion && cached.token === token) return cached.headers;
    const headers = this.withSession({ ...this.postBase }, token);
    this.cached = { sessionId, protocolVersion, token, headers };
    return headers;
  }

  private withSession(headers: OutgoingHttpHeaders, token: string | undefined): OutgoingHttpHeaders {
    const { sessionId, protocolVersion } = this.options.transport;
    if (this.stateless) headers['mcp-protocol-version'] = this.stateless.protocolVersion;
    else {
      if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
      if (protocolVersion !== undefined) headers['mcp-protocol-version'] = protocolVersion;
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  /** One HTTP request. `track` gets the ClientRequest as soon as it is sent, so that a cancellation can destroy it. */
  private issue(headers: OutgoingHttpHeaders, body: string | undefined, track?: (request: ClientRequest) => void): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const attempt = (retry: boolean) => {
        const request = this.send({ ...this.target, method: body === undefined ? 'GET' : 'POST', headers: withTraceHeaders(headers) }, resolve);
        request.on('error', (error: NodeJS.ErrnoException) => {
          // A kept-alive socket the server closed while idle, so the request did not reach it: Node's documented retry.
          if (retry && request.reusedSocket && error.code === 'ECONNRESET') attempt(false);
          else reject(new Broken(error));
        });
        request.end(body);
        track?.(request);
      };
      attempt(true);
    });
  }

  /**
   * POSTs `body` (or GETs the stream after `lastEventId`), with the bearer token and its one renewal on 401.
   * `routing`: a stateless request's `Mcp-Method`/`Mcp-Name` headers.
   */
  async open(
    body: string | undefined,
    track?: (request: ClientRequest) => void,
    { lastEventId, routing }: { lastEventId?: string; routing?: Record<string, string> } = {},
  ): Promise<IncomingMessage> {
    const bearer = this.options.bearer;
    const headersFor = (token: string | undefined) => {
      if (body === undefined) return this.withSession({ ...this.getBase, 'last-event-id': lastEventId }, token);
      return routing ? { ...this.postHeaders(token), ...routing } : this.postHeaders(token);
    };
    const token = bearer ? await bearer.token() : undefined;
    const response = await this.issue(headersFor(token), body, track);
    if (response.statusCode !== 401 || !bearer || token === undefined) return response;
    response.resume();
    return this.issue(headersFor(await bearer.renew(token)), body, track);
  }

  /** POSTs a message that expects no answer (a response to the upstream, a cancellation); throws when it is refused. */
  async post(message: unknown): Promise<void> {
    if (this.closed) return;
    const response = await this.open(JSON.stringify(message));
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return void response.resume();
    throw new Error(`Error POSTing to endpoint (HTTP ${status}): ${await readText(response)}`);
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
