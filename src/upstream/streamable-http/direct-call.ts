import { StringDecoder } from 'node:string_decoder';
import { ErrorCode, McpError, type JSONRPCMessage, type Progress, type RequestId, type Result } from '@modelcontextprotocol/sdk/types.js';
import { createParser, type EventSourceMessage, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { META } from './protocol-eras.js';
import type { RequestSignal } from '../call-abort.js';
import type { ServerRequestRelay } from './server-requests.js';
import { ErrorText, Exchange, post } from './upstream-exchange.js';
import type { UpstreamHttp } from './upstream-http.js';

/**
 * What one request of the direct path (direct-requests.ts) is while in flight: the hooks it is sent with, the `Call`
 * that carries it (an Exchange, upstream-exchange.ts), and the error it rejects with when no answer comes.
 */

export interface DirectRequestHooks {
  /** Aborting it cancels the request upstream (notifications/cancelled, see below) and rejects. */
  signal: RequestSignal;
  timeoutMs: number;
  /** Present when the caller wants progress: each upstream notifications/progress for this request, without its token. */
  onProgress?: (progress: Progress) => void;
  /** Requests the upstream sends on this request's stream (sampling/createMessage, elicitation/create). */
  onServerRequest: ServerRequestRelay;
  /** Stateless upstreams: the client capabilities declared in this request's `_meta` (default: none). */
  clientCapabilities?: Record<string, unknown>;
  /** Stateless upstreams: the log level asked for in this request's `_meta` (server/utilities/logging); absent: no log messages. */
  logLevel?: string;
  /** The other notifications on this request's stream (a listen stream's); absent: they go to the connection (its transport's `onmessage`). */
  onNotification?: (message: JSONRPCMessage) => void;
  /** Stateless upstreams: the `Mcp-Param-*` headers of a `tools/call` (tool-param-headers.ts). */
  paramHeaders?: Record<string, string>;
}

/** The most of a JSON body or of one SSE event that is buffered; a bigger one counts as a lost connection. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** The SDK client's reconnection defaults for a stream that ends before its response. */
const RESUME = { attempts: 2, initialDelay: 1000, growFactor: 1.5, maxDelay: 30_000 };
/** How long a stream that delivered its response may take to end before its socket is given up (not reused). */
const DRAIN_MS = 1000;
/** setTimeout's largest delay (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RELAYED_METHODS = new Set(['sampling/createMessage', 'elicitation/create']);
const ONCE = { once: true } as const;

interface Message {
  id?: RequestId | null;
  method?: unknown;
  params?: JsonObject;
  result?: Result;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

/** The request got no answer from the upstream (lost connection, timeout): the SDK's errors, told apart from the upstream's own. */
export class NoAnswer extends McpError {}
export const connectionClosed = () => new NoAnswer(ErrorCode.ConnectionClosed, 'Connection closed');

function mediaType(header: string | undefined): string | undefined {
  if (header === 'text/event-stream' || header === 'application/json') return header;
  return header?.split(';', 1)[0]?.trim().toLowerCase();
}

/** `params` without `_meta.progressToken` (the upstream's tokens mean nothing downstream). */
function withoutProgressToken(params: JsonObject | undefined): JsonObject {
  if (!params) return {};
  const meta = params._meta;
  if (!isJsonObject(meta) || !Object.hasOwn(meta, META.progressToken)) return params;
  const { [META.progressToken]: _token, ...rest } = meta;
  const { _meta: _old, ...others } = params;
  return Object.keys(rest).length === 0 ? others : { ...others, _meta: rest };
}

/** The JSON-RPC error to answer a failed relay with: its own code and message when it has them (McpError unprefixed). */
function errorAnswer(error: unknown): { code: number; message: string; data?: unknown } {
  if (!isJsonObject(error) || typeof error.code !== 'number' || typeof error.message !== 'string') {
    return { code: ErrorCode.InternalError, message: 'Internal error' };
  }
  let message = error.message;
  const prefix = `MCP error ${error.code}: `;
  if (error instanceof McpError && message.startsWith(prefix)) message = message.slice(prefix.length);
  return error.data === undefined ? { code: error.code, message } : { code: error.code, message, data: error.data };
}

type Reading = 'json' | 'events' | 'error' | 'resume-refused';

/** One request in flight: its HTTP exchange(s), timeout, cancellation, and the upstream's requests on its stream. */
export class Call extends Exchange {
  readonly promise: Promise<Result>;
  private resolve!: (result: Result) => void;
  private reject!: (error: unknown) => void;
  /** What the answer in flight is read as (undefined: none yet, or it is being dropped). */
  private reading?: Reading;
  private status = 0;
  /** A JSON answer's first chunk, and the others when it came in more than one. */
  private first?: Buffer;
  private chunks?: Buffer[];
  private size = 0;
  private errorText?: ErrorText;
  private parser?: EventSourceParser;
  private decoder?: StringDecoder;
  private readonly timer: NodeJS.Timeout;
  private resumeTimer?: NodeJS.Timeout;
  private drainTimer?: NodeJS.Timeout;
  private resuming = false;
  private lastEventId?: string;
  private retryMs?: number;
  private resumes = 0;
  /** The upstream's requests being relayed, by their id: aborted when the upstream cancels one or this call ends. */
  private served?: Map<RequestId, AbortController>;

  constructor(
    upstream: UpstreamHttp,
    private readonly live: Set<Call>,
    readonly id: string,
    body: string,
    private readonly hooks: DirectRequestHooks,
    /** Stateless upstreams: the request's routing headers (and the mark of that era). */
    private readonly routing?: Record<string, string>,
  ) {
    super(upstream);
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // The call itself is the listener (its `handleEvent`): no closure per call.
    hooks.signal.addEventListener('abort', this, ONCE);
    this.timer = setTimeout(Call.timedOut, Math.min(hooks.timeoutMs, MAX_TIMER_MS), this);
    live.add(this);
    this.send(body, undefined, routing);
  }

  protected started(status: number, contentType: string | undefined) {
    if (this.done) return;
    this.status = status;
    const type = mediaType(contentType);
    if (this.resuming) {
      this.reading = status >= 200 && status < 300 && type === 'text/event-stream' ? this.readEvents() : 'resume-refused';
    } else if (this.routing && status >= 400 && status < 500 && type === 'application/json') {
      // A stateless server answers protocol errors (unsupported version, missing capability, unknown method) with 4xx and a JSON-RPC error.
      this.reading = 'json';
    } else if (status < 200 || status >= 300) {
      this.errorText = new ErrorText();
      this.reading = 'error';
    } else if (type === 'text/event-stream') this.reading = this.readEvents();
    else if (type === 'application/json') this.reading = 'json';
    else if (status === 202) this.lost(new Error('The upstream accepted a request without answering it'));
    else {
      const error = new Error(`Unexpected content type: ${contentType}`);
      this.upstream.report(error);
      this.fail(error);
    }
  }

  private readEvents(): Reading {
    // Made here: most calls are answered with JSON and never need them.
    this.parser ??= createParser({ onEvent: (event) => this.onEvent(event), onRetry: (ms) => (this.retryMs = ms), onError: (error) => this.onParseError(error), maxBufferSize: MAX_BUFFERED });
    this.parser.reset();
    this.decoder = new StringDecoder('utf8');
    return 'events';
  }

  protected received(chunk: Buffer) {
    if (this.done) return;
    switch (this.reading) {
      case 'json':
        if ((this.size += chunk.length) > MAX_BUFFERED) return this.lost(new Error('The upstream response exceeds 16 MiB'));
        if (this.first === undefined) this.first = chunk;
        else (this.chunks ??= [this.first]).push(chunk);
        return;
      case 'events':
        try {
          this.parser!.feed(this.decoder!.write(chunk));
        } catch (error) {
          this.fail(error);
        }
        return;
      case 'error':
        if (!this.errorText!.add(chunk)) this.abort();
    }
  }

  protected finished(error: Error | undefined) {
    clearTimeout(this.drainTimer);
    const reading = this.reading;
    this.reading = undefined;
    if (reading === 'error') {
      // The body's start is the error, whether or not the rest arrived.
      const refusal = this.errorText!.error(this.status);
      if (!this.done) this.upstream.report(refusal);
      return this.fail(refusal);
    }
    if (this.done) return;
    if (reading === 'json') return this.answeredJson(error);
    if (reading === 'events') return this.streamEnded(error && new Error('The upstream event stream broke off'));
    if (reading === 'resume-refused') return this.streamEnded(new Error(`Resuming the upstream event stream failed (HTTP ${this.status})`));
    // No answer at all: the request could not be sent, or its connection broke first.
    if (this.resuming) this.streamEnded(error);
    else this.lost(error);
  }

  private answeredJson(error: Error | undefined) {
    if (error) return this.lost(new Error('The upstream response broke off'));
    const body = this.chunks ? Buffer.concat(this.chunks, this.size) : this.first;
    this.first = this.chunks = undefined;
    try {
      const parsed: unknown = JSON.parse(body ? body.toString('utf8') : '');
      if (Array.isArray(parsed)) for (const message of parsed) this.handle(message);
      else this.handle(parsed);
    } catch (error) {
      return this.lost(error);
    }
    // Checked first: building an Error (its stack) on every answered call is measurable on the hot path.
    if (!this.done) this.lost(new Error('The upstream answered without a response to the request'));
  }

  protected refused(error: unknown) {
    this.fail(error);
  }

  private onParseError(error: ParseError) {
    if (error.type === 'max-buffer-size-exceeded') this.lost(new Error('An upstream event exceeds 16 MiB'));
  }

  private onEvent(event: EventSourceMessage) {
    if (this.done) return;
    if (event.id !== undefined && event.id !== this.lastEventId) {
      this.lastEventId = event.id;
      this.resumes = 0; // the stream moved on: a later break gets the full number of attempts again
    }
    if (!event.data || (event.event !== undefined && event.event !== 'message')) return;
    let message: unknown;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return this.upstream.report(error);
    }
    this.handle(message);
  }

  private handle(message: unknown) {
    if (!isJsonObject(message)) return;
    const { id, method, params, error } = message as Message;
    if (typeof method === 'string') {
      if (id === undefined || id === null) this.notified(method, params, message);
      else void this.serve(id, method, params);
    } else if (id === this.id || (this.routing && error && (id === null || id === undefined))) {
      // (A stateless server's 4xx error may not know the id, e.g. a header mismatch found before the body was read.)
      if (!error) return this.settle(message.result as Result, undefined);
      const code = typeof error.code === 'number' ? error.code : ErrorCode.InternalError;
      this.settle(undefined, McpError.fromError(code, typeof error.message === 'string' ? error.message : 'Unknown error', error.data));
    }
  }

  private notified(method: string, params: JsonObject | undefined, message: JsonObject) {
    if (method === 'notifications/progress') {
      if (params?.progressToken !== this.id || !this.hooks.onProgress) return;
      const { progressToken: _ours, ...progress } = params;
      return this.hooks.onProgress(progress as Progress);
    }
    if (method === 'notifications/cancelled') {
      const served = this.served?.get(params?.requestId as RequestId);
      if (served) return void served.abort(new Error(typeof params?.reason === 'string' ? params.reason : 'Cancelled by the upstream'));
    }
    if (this.hooks.onNotification) return this.hooks.onNotification(message as JSONRPCMessage);
    this.upstream.options.transport.onmessage?.(message as JSONRPCMessage);
  }

  /** Answers a request the upstream sent on this call's stream; relayed ones go to the caller. */
  private async serve(id: RequestId, method: string, params: JsonObject | undefined) {
    let answer: JsonObject;
    if (method === 'ping') answer = { jsonrpc: '2.0', id, result: {} };
    else if (!RELAYED_METHODS.has(method)) answer = { jsonrpc: '2.0', id, error: { code: ErrorCode.MethodNotFound, message: 'Method not found' } };
    else {
      const controller = new AbortController();
      (this.served ??= new Map()).set(id, controller);
      try {
        const result = await this.hooks.onServerRequest({ method, params: withoutProgressToken(params) }, controller.signal);
        answer = { jsonrpc: '2.0', id, result };
      } catch (error) {
        answer = { jsonrpc: '2.0', id, error: errorAnswer(error) };
      } finally {
        this.served.delete(id);
      }
      if (controller.signal.aborted) return; // cancelled, or this call is over: nobody upstream waits for it
    }
    await post(this.upstream, answer).catch((error: unknown) => this.upstream.report(error));
  }

  /** The stream ended or broke before the response: resume it after the last event id like the SDK client, or give up. */
  private streamEnded(reason: unknown) {
    // Stateless streams are not resumable: a dropped one is a lost request.
    if (this.routing || this.lastEventId === undefined || this.resumes >= RESUME.attempts) {
      return this.lost(reason ?? new Error('The upstream event stream ended before the response'));
    }
    const delay = this.retryMs ?? Math.min(RESUME.initialDelay * RESUME.growFactor ** this.resumes, RESUME.maxDelay);
    this.resumes++;
    this.resuming = true;
    this.resumeTimer = setTimeout(Call.resume, delay, this);
  }

  private static resume(call: Call) {
    call.send(undefined, call.lastEventId);
  }

  private static timedOut(call: Call) {
    call.cancel('Request timed out', new NoAnswer(ErrorCode.RequestTimeout, 'Request timed out', { timeout: call.hooks.timeoutMs }));
  }

  /** The caller's signal was aborted. */
  handleEvent() {
    const reason: unknown = this.hooks.signal.reason;
    this.cancel(reason instanceof Error ? reason.message : String(reason), reason ?? new DOMException('This operation was aborted', 'AbortError'));
  }

  /** Marks the call over and releases what it holds; false when it already was. */
  private end(): boolean {
    if (this.done) return false;
    this.done = true;
    clearTimeout(this.timer);
    clearTimeout(this.resumeTimer);
    this.hooks.signal.removeEventListener('abort', this);
    this.live.delete(this);
    if (this.served) for (const controller of this.served.values()) controller.abort(new Error('The request is over'));
    return true;
  }

  /** Our response arrived: the stream is left to end by itself so its socket can be reused, unless it lingers. */
  private settle(result: Result | undefined, error: McpError | undefined) {
    if (!this.end()) return;
    if (this.inFlight) this.drainTimer = setTimeout(Call.drop, DRAIN_MS, this).unref();
    if (error) this.reject(error);
    else this.resolve(result ?? {});
  }

  private static drop(call: Call) {
    call.abort();
  }

  private fail(error: unknown) {
    if (!this.end()) return;
    this.abort();
    this.reject(error);
  }

  /** A lost connection: reported to the SDK transport (the gateway then probes and reconnects) and rejected as the SDK does. */
  private lost(reason: unknown) {
    if (!this.end()) return;
    this.abort();
    this.upstream.report(reason);
    // The cause (ECONNREFUSED, …) says why, where the error is shown (an upstream's status).
    this.reject(Object.assign(connectionClosed(), { cause: reason }));
  }

  /** Cancellation (abort, timeout): drop the exchange and tell the upstream, without waiting for it. */
  private cancel(reason: string, error: unknown) {
    if (!this.end()) return;
    this.abort();
    // Stateless upstreams take the closed stream as the cancellation; session-era ones are told.
    if (this.sent && !this.routing) post(this.upstream, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: this.id, reason } }).catch(() => undefined);
    this.reject(error);
  }

  /** The instance was closed: reject without reporting (nothing to reconnect). */
  closed() {
    if (!this.end()) return;
    this.abort();
    this.reject(connectionClosed());
  }
}
