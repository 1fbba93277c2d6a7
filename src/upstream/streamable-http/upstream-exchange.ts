import { StringDecoder } from 'node:string_decoder';
import { util, type Client, type Dispatcher } from 'undici';
import { withTraceHeaders } from '../../http/trace-context.js';
import { isReusedSocketError, type UpstreamHttp } from './upstream-http.js';

/**
 * One request to an upstream and its answer, on undici's handler API (the exchange is its own handler: no stream,
 * listener or closure per request). Its original callbacks (onConnect, onHeaders, onData, onComplete, onError),
 * which undici 7's HTTP/1.1 client calls as they are: the newer controller callbacks (onRequestStart, …) are
 * adapted to these by a wrapper per request that also parses every header into an object, which cost the gateway
 * more CPU per call (bench/README.md). They are marked deprecated in undici 7's types, not removed.
 * What every request needs is here: the headers of the session or the stateless era, the trace context, the bearer
 * token and its one renewal on 401, and one retry of a request whose kept-alive socket the server had closed. What
 * the answer means is the subclass's: `started`, `received`, `finished`. One exchange runs at a time per instance:
 * a renewal, a retry or a resumption is sent after the one before ended.
 */

/** What `withTraceHeaders` copies when there is a trace to carry; itself when there is none. */
const NO_TRACE: Record<string, string> = Object.freeze({}) as Record<string, string>;

export abstract class Exchange implements Dispatcher.DispatchHandler {
  /** The outcome is decided: what still arrives is the subclass's to drop, and a request not yet on a socket is not sent. */
  protected done = false;
  /** A request of this instance reached a socket (it may have reached the upstream). */
  protected sent = false;
  private abortFn?: (reason?: Error) => void;
  /** The connection the request in flight was given to, until it ends. */
  private client?: Client;
  private body?: string;
  private afterEventId?: string;
  private routes?: Record<string, string>;
  private trace = NO_TRACE;
  private token?: string;
  private renewed = false;
  private retried = false;
  /** The response's status line arrived (a failure after it is not retried). */
  private answered = false;
  /** A 401 whose body is read to its end before the request is sent again with a renewed token. */
  private refusedToken = false;

  constructor(protected readonly upstream: UpstreamHttp) {}

  /** POSTs `body` (or GETs the stream after `lastEventId`); `routing`: a stateless request's `Mcp-Method`/`Mcp-Name` headers. */
  protected send(body: string | undefined, lastEventId?: string, routing?: Record<string, string>): void {
    this.body = body;
    this.afterEventId = lastEventId;
    this.routes = routing;
    this.renewed = false;
    this.retried = false;
    // Taken now, in the caller's context; the renewal and the retry are sent from undici's callbacks.
    this.trace = withTraceHeaders(NO_TRACE);
    const bearer = this.upstream.options.bearer;
    if (!bearer) return this.dispatch();
    bearer.token().then(
      (token) => this.dispatchWith(token),
      (error: unknown) => this.refused(error),
    );
  }

  private dispatchWith(token: string) {
    this.token = token;
    this.retried = false;
    if (!this.done) this.dispatch();
  }

  private dispatch() {
    const { upstream, body, token } = this;
    this.answered = false;
    const headers = body === undefined ? upstream.getHeaders(token, this.afterEventId) : upstream.postHeaders(token, this.routes);
    const client = (this.client = upstream.connections.take());
    client.dispatch(
      { path: upstream.path, method: body === undefined ? 'GET' : 'POST', headers: this.trace === NO_TRACE ? headers : { ...headers, ...this.trace }, body },
      this,
    );
  }

  /** Drops the exchange in flight (its socket is closed); one not yet on a socket is dropped when it gets one. */
  protected abort(reason?: Error): void {
    this.abortFn?.(reason ?? new Error('The exchange was dropped'));
  }

  /** True while a response is being read (or a request waits for it). */
  protected get inFlight(): boolean {
    return this.abortFn !== undefined;
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortFn = abort;
    this.sent = true;
    if (this.done) this.abort();
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    if (status < 200) return true;
    this.answered = true;
    if (status === 401 && !this.renewed && this.token !== undefined && this.upstream.options.bearer) {
      this.refusedToken = true;
      return true;
    }
    let type: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (util.headerNameToString(raw[i]!) === 'content-type') {
        type = raw[i + 1]!.toString('latin1');
        break;
      }
    }
    this.started(status, type);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.refusedToken) this.received(chunk);
    return true;
  }

  onComplete(): void {
    this.release();
    if (this.refusedToken) return this.renew();
    this.finished(undefined);
  }

  onError(error: Error): void {
    this.release();
    if (this.refusedToken) return this.renew();
    // A kept-alive socket the server closed while idle, so the request did not reach it: Node's documented retry.
    if (!this.done && !this.answered && !this.retried && isReusedSocketError(error)) {
      this.retried = true;
      return this.dispatch();
    }
    this.finished(error);
  }

  private release() {
    this.abortFn = undefined;
    const client = this.client!;
    this.client = undefined;
    this.upstream.connections.give(client);
  }

  /** The token was refused: renewed once, and the request sent again with the new one. */
  private renew() {
    this.refusedToken = false;
    this.renewed = true;
    if (this.done) return;
    this.upstream.options.bearer!.renew(this.token!).then(
      (token) => this.dispatchWith(token),
      (error: unknown) => this.refused(error),
    );
  }

  /** The answer's status line (a final one) and its content type. */
  protected abstract started(status: number, contentType: string | undefined): void;
  /** A piece of the answer's body. */
  protected abstract received(chunk: Buffer): void;
  /** The answer ended (`error` undefined), or the exchange broke: the socket, HTTP, or `abort`'s reason. */
  protected abstract finished(error: Error | undefined): void;
  /** The bearer source could not give a token (its own error, not the upstream's). */
  protected abstract refused(error: unknown): void;
}

/** How much of an error answer's body goes into the error. */
const ERROR_TEXT_LIMIT = 4096;

/** The start of an error answer's body as text; `add` says when enough was read to drop the rest (past 64 KiB). */
export class ErrorText {
  private text = '';
  private seen = 0;
  private readonly decoder = new StringDecoder('utf8');

  add(chunk: Buffer): boolean {
    if (this.text.length < ERROR_TEXT_LIMIT) this.text += this.decoder.write(chunk).slice(0, ERROR_TEXT_LIMIT - this.text.length);
    return (this.seen += chunk.length) <= 16 * ERROR_TEXT_LIMIT;
  }

  /** The error of a refused request with `status` and this text. */
  error(status: number): Error {
    return new Error(`Error POSTing to endpoint (HTTP ${status}): ${this.text}`);
  }
}

/** A message POSTed that expects no answer (a response to the upstream, a cancellation). */
class Posting extends Exchange {
  readonly promise: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;
  private status = 0;
  private text?: ErrorText;

  constructor(upstream: UpstreamHttp, message: unknown) {
    super(upstream);
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.send(JSON.stringify(message));
  }

  protected started(status: number): void {
    this.status = status;
    if (status >= 300) this.text = new ErrorText();
  }

  protected received(chunk: Buffer): void {
    if (this.text && !this.text.add(chunk)) this.abort();
  }

  protected finished(error: Error | undefined): void {
    if (this.text) this.reject(this.text.error(this.status));
    else if (error) this.reject(error);
    else this.resolve();
  }

  protected refused(error: unknown): void {
    this.reject(error);
  }
}

/** POSTs a message that expects no answer; throws when it is refused or lost. */
export function post(upstream: UpstreamHttp, message: unknown): Promise<void> {
  return upstream.closed ? Promise.resolve() : new Posting(upstream, message).promise;
}
