import type { ClientRequest, IncomingMessage } from 'node:http';
import { ErrorCode, McpError, type JSONRPCMessage, type Progress, type RequestId, type Result } from '@modelcontextprotocol/sdk/types.js';
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { META, routingHeaders, withRequestMeta, type StatelessIdentity } from './protocol-eras.js';
import type { RequestSignal } from '../call-abort.js';
import type { ServerRequestRelay } from './server-requests.js';
import { Broken, readText, UpstreamHttp, type UpstreamHttpOptions } from './upstream-http.js';

/**
 * The lean path for one request on an upstream's Streamable HTTP session (MCP 2025-06-18 / 2025-11-25 transport):
 * the SDK client did the `initialize` handshake and keeps the session; this sends a request on that session with
 * node:http and a keep-alive agent and reads the answer (JSON or SSE) itself, without fetch, web streams or zod.
 * Requests the upstream sends on the request's stream go to the caller's relay; other notifications go to the SDK
 * client (through its transport's `onmessage`), which relays list changes and log messages as usual.
 * It is also the one path to a stateless (2026-07-28) upstream (`speakStateless`): every request then carries the
 * per-request `_meta` and the routing headers, an error answer's JSON-RPC error is the request's error, a stream is
 * not resumed, and cancelling closes the stream (transports/streamable-http "Cancellation") instead of a notification.
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

export interface DirectRequests {
  request(message: { method: string; params?: Record<string, unknown> }, hooks: DirectRequestHooks): Promise<Result>;
  /** From now on speaks the stateless era as `identity` (no session, `_meta` and routing headers); undefined: the session era. */
  speakStateless(identity: StatelessIdentity | undefined): void;
  /** The stateless revision spoken, or undefined in the session era. */
  protocolVersion(): string | undefined;
  /** Destroys the keep-alive agent; later requests reject. */
  close(): void;
}

/** Where to send, with what credentials, on which SDK client's session. */
export type DirectRequestsOptions = UpstreamHttpOptions;

/** The most of a JSON body or of one SSE event that is buffered; a bigger one counts as a lost connection. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** The SDK client's reconnection defaults for a stream that ends before its response. */
const RESUME = { attempts: 2, initialDelay: 1000, growFactor: 1.5, maxDelay: 30_000 };
/** How long a stream that delivered its response may take to end before its socket is given up (not reused). */
const DRAIN_MS = 1000;
/** setTimeout's largest delay (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RELAYED_METHODS = new Set(['sampling/createMessage', 'elicitation/create']);

interface Message {
  id?: RequestId | null;
  method?: unknown;
  params?: JsonObject;
  result?: Result;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

/** The request got no answer from the upstream (lost connection, timeout): the SDK's errors, told apart from the upstream's own. */
export class NoAnswer extends McpError {}
const connectionClosed = () => new NoAnswer(ErrorCode.ConnectionClosed, 'Connection closed');

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

/** One request in flight: its HTTP exchange(s), timeout, cancellation, and the upstream's requests on its stream. */
class Call {
  readonly promise: Promise<Result>;
  private resolve!: (result: Result) => void;
  private reject!: (error: unknown) => void;
  private done = false;
  private request?: ClientRequest;
  private response?: IncomingMessage;
  private readonly timer: NodeJS.Timeout;
  private resumeTimer?: NodeJS.Timeout;
  private lastEventId?: string;
  private retryMs?: number;
  private resumes = 0;
  /** The upstream's requests being relayed, by their id: aborted when the upstream cancels one or this call ends. */
  private served?: Map<RequestId, AbortController>;

  constructor(
    private readonly upstream: UpstreamHttp,
    private readonly live: Set<Call>,
    readonly id: string,
    body: string,
    private readonly hooks: DirectRequestHooks,
    /** Stateless upstreams: the request's routing headers (and the mark of that era). */
    private readonly routing?: Record<string, string>,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    hooks.signal.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setTimeout(this.onTimeout, Math.min(hooks.timeoutMs, MAX_TIMER_MS));
    live.add(this);
    void this.start(body);
  }

  private readonly track = (request: ClientRequest) => {
    this.request = request;
    if (this.done) request.destroy();
  };

  private async start(body: string) {
    try {
      const response = await this.upstream.open(body, this.track, { routing: this.routing });
      if (this.done) return void response.destroy();
      this.response = response;
      const status = response.statusCode ?? 0;
      if (this.routing && status >= 400 && status < 500 && mediaType(response.headers['content-type']) === 'application/json') {
        // A stateless server answers protocol errors (unsupported version, missing capability, unknown method) with 4xx and a JSON-RPC error.
        return this.readJson(response);
      }
      if (status < 200 || status >= 300) {
        const error = new Error(`Error POSTing to endpoint (HTTP ${status}): ${await readText(response)}`);
        if (!this.done) this.upstream.report(error);
        return this.fail(error);
      }
      const type = mediaType(response.headers['content-type']);
      if (type === 'text/event-stream') this.readEvents(response);
      else if (type === 'application/json') this.readJson(response);
      else if (status === 202) this.lost(new Error('The upstream accepted a request without answering it'));
      else {
        const error = new Error(`Unexpected content type: ${response.headers['content-type']}`);
        if (!this.done) this.upstream.report(error);
        this.fail(error);
      }
    } catch (error) {
      if (error instanceof Broken) this.lost(error.reason);
      else this.fail(error);
    }
  }

  private readJson(response: IncomingMessage) {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if ((size += chunk.length) > MAX_BUFFERED) this.lost(new Error('The upstream response exceeds 16 MiB'));
      else chunks.push(chunk);
    });
    response.on('error', () => undefined);
    response.on('close', () => {
      if (this.done) return;
      if (!response.complete) return this.lost(new Error('The upstream response broke off'));
      try {
        const parsed: unknown = JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8'));
        for (const message of Array.isArray(parsed) ? parsed : [parsed]) this.handle(message);
      } catch (error) {
        return this.lost(error);
      }
      // Checked first: building an Error (its stack) on every answered call is measurable on the hot path.
      if (!this.done) this.lost(new Error('The upstream answered without a response to the request'));
    });
  }

  private readEvents(response: IncomingMessage) {
    // Bound here, not as fields: most calls are answered with JSON and never need them.
    const parser = createParser({ onEvent: (event) => this.onEvent(event), onRetry: (ms) => (this.retryMs = ms), onError: (error) => this.onParseError(error), maxBufferSize: MAX_BUFFERED });
    response.setEncoding('utf8');
    response.on('data', (text: string) => {
      if (this.done) return;
      try {
        parser.feed(text);
      } catch (error) {
        this.fail(error);
      }
    });
    response.on('error', () => undefined);
    response.on('close', () => {
      if (this.done || this.response !== response) return;
      this.streamEnded(response.complete ? undefined : new Error('The upstream event stream broke off'));
    });
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
    await this.upstream.post(answer).catch((error: unknown) => this.upstream.report(error));
  }

  /** The stream ended or broke before the response: resume it after the last event id like the SDK client, or give up. */
  private streamEnded(reason: unknown) {
    this.response = undefined;
    // Stateless streams are not resumable: a dropped one is a lost request.
    if (this.routing || this.lastEventId === undefined || this.resumes >= RESUME.attempts) {
      return this.lost(reason ?? new Error('The upstream event stream ended before the response'));
    }
    const delay = this.retryMs ?? Math.min(RESUME.initialDelay * RESUME.growFactor ** this.resumes, RESUME.maxDelay);
    this.resumes++;
    this.resumeTimer = setTimeout(() => void this.resume(), delay);
  }

  private async resume() {
    try {
      const response = await this.upstream.open(undefined, this.track, { lastEventId: this.lastEventId });
      if (this.done) return void response.destroy();
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300 && mediaType(response.headers['content-type']) === 'text/event-stream') {
        this.response = response;
        return this.readEvents(response);
      }
      response.resume();
      this.streamEnded(new Error(`Resuming the upstream event stream failed (HTTP ${status})`));
    } catch (error) {
      if (error instanceof Broken) this.streamEnded(error.reason);
      else this.fail(error);
    }
  }

  private readonly onAbort = () => {
    const reason: unknown = this.hooks.signal.reason;
    this.cancel(reason instanceof Error ? reason.message : String(reason), reason ?? new DOMException('This operation was aborted', 'AbortError'));
  };

  private readonly onTimeout = () => {
    this.cancel('Request timed out', new NoAnswer(ErrorCode.RequestTimeout, 'Request timed out', { timeout: this.hooks.timeoutMs }));
  };

  /** Marks the call over and releases what it holds; false when it already was. */
  private end(): boolean {
    if (this.done) return false;
    this.done = true;
    clearTimeout(this.timer);
    clearTimeout(this.resumeTimer);
    this.hooks.signal.removeEventListener('abort', this.onAbort);
    this.live.delete(this);
    if (this.served) for (const controller of this.served.values()) controller.abort(new Error('The request is over'));
    return true;
  }

  private destroy() {
    this.response?.destroy();
    this.request?.destroy();
  }

  /** Our response arrived: the stream is left to end by itself so its socket can be reused, unless it lingers. */
  private settle(result: Result | undefined, error: McpError | undefined) {
    if (!this.end()) return;
    const response = this.response;
    if (response && !response.complete) {
      const drain = setTimeout(() => response.destroy(), DRAIN_MS).unref();
      response.once('close', () => clearTimeout(drain));
    }
    if (error) this.reject(error);
    else this.resolve(result ?? {});
  }

  private fail(error: unknown) {
    if (!this.end()) return;
    this.destroy();
    this.reject(error);
  }

  /** A lost connection: reported to the SDK transport (the gateway then probes and reconnects) and rejected as the SDK does. */
  private lost(reason: unknown) {
    if (!this.end()) return;
    this.destroy();
    this.upstream.report(reason);
    // The cause (ECONNREFUSED, …) says why, where the error is shown (an upstream's status).
    this.reject(Object.assign(connectionClosed(), { cause: reason }));
  }

  /** Cancellation (abort, timeout): drop the exchange and tell the upstream, without waiting for it. */
  private cancel(reason: string, error: unknown) {
    if (!this.end()) return;
    this.destroy();
    // Stateless upstreams take the closed stream as the cancellation; session-era ones are told.
    if (this.request && !this.routing) this.upstream.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: this.id, reason } }).catch(() => undefined);
    this.reject(error);
  }

  /** The instance was closed: reject without reporting (nothing to reconnect). */
  closed() {
    if (!this.end()) return;
    this.destroy();
    this.reject(connectionClosed());
  }
}

export function directRequests(options: DirectRequestsOptions): DirectRequests {
  const upstream = new UpstreamHttp(options);
  const live = new Set<Call>();
  return {
    request(message, hooks) {
      if (upstream.closed) return Promise.reject(connectionClosed());
      if (hooks.signal.aborted) return Promise.reject(hooks.signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
      const id = upstream.nextId();
      let params = message.params;
      if (hooks.onProgress) params = { ...params, _meta: { ...(params?._meta as JsonObject | undefined), [META.progressToken]: id } };
      const stateless = upstream.stateless;
      if (stateless) params = withRequestMeta(params, stateless, hooks.clientCapabilities ?? {}, hooks.logLevel);
      const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method: message.method } : { jsonrpc: '2.0', id, method: message.method, params });
      return new Call(upstream, live, id, body, hooks, stateless && { ...routingHeaders(message.method, message.params), ...hooks.paramHeaders }).promise;
    },
    speakStateless(identity) {
      upstream.stateless = identity;
    },
    protocolVersion: () => upstream.stateless?.protocolVersion,
    close() {
      if (upstream.closed) return;
      for (const call of [...live]) call.closed();
      upstream.close();
    },
  };
}
