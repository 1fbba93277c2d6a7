import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  McpError,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolRequest,
  type JSONRPCMessage,
  type LoggingLevel,
  type Progress,
  type ProgressToken,
  type RequestId,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { isJsonObject } from '../json-object.js';
import { CallAbort } from '../upstream/call-abort.js';
import { META } from '../upstream/streamable-http/protocol-eras.js';
import type { Downstream } from './forwarding.js';
import { sendInternalError } from './jsonrpc-edge.js';
import type { AnswerTo } from './mcp-exchange.js';
import type { ToolCaller } from './gateway-server.js';
import { logLevelOf } from './session-resume.js';
import { serverRequestSender, type SendToClient } from './upstream-requests.js';

/**
 * `tools/call` answered without the SDK's server transport and protocol layer, which cost more CPU per call than
 * everything else the gateway does (bench/README.md). The session's own pipeline (resolve, policy, forward, audit)
 * runs as it does under the SDK server; only the HTTP exchange around it is written here. The answer is JSON, as
 * the Streamable HTTP transport allows, unless something must reach the client before the result (progress, or an
 * upstream's sampling or elicitation request): then it becomes an SSE stream at that moment. Cancellations of these
 * calls and the client's answers to requests sent on their streams arrive in later POSTs and are taken from them
 * here, since the SDK server never saw these ids.
 */

/**
 * A session's direct calls in flight, and the requests sent to its client (by direct calls, and by the SDK server:
 * relayable-requests.ts) that still wait for an answer.
 */
export interface DirectExchanges {
  calls: Map<RequestId, Pick<CallAbort, 'abort'>>;
  asked: Map<RequestId, (answer: JSONRPCMessage) => void>;
  /** For the ids of requests sent to the client: strings, so they never meet the ids of the client's own requests. */
  sent: number;
  /**
   * Starts every such id: GATEWAY_REQUEST_ID_PREFIX and a random part, so that ids of copies of one session on
   * several replicas never meet and an answer that reaches another replica can be sent back to this one.
   */
  idPrefix: string;
}

export const GATEWAY_REQUEST_ID_PREFIX = 'gatehouse-';

export const directExchanges = (): DirectExchanges => ({
  calls: new Map(),
  asked: new Map(),
  sent: 0,
  idPrefix: `${GATEWAY_REQUEST_ID_PREFIX}${randomBytes(6).toString('base64url')}-`,
});

/** What a direct call needs of its session (an McpSession). */
export interface DirectSession {
  readonly id: string;
  /** Absent: the session's calls always go through the SDK. */
  readonly callTool?: ToolCaller;
  readonly direct: DirectExchanges;
  readonly server: Pick<Server, 'getClientVersion' | 'getClientCapabilities'>;
}

const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS);

/**
 * Settles what belongs to direct calls (a client's answer to one of their requests, a cancellation of one of them)
 * and returns the messages left for the SDK.
 */
export function takeDirectMessages(direct: DirectExchanges, messages: JSONRPCMessage[]): JSONRPCMessage[] {
  if (direct.calls.size === 0 && direct.asked.size === 0) return messages;
  // With calls in flight, a request (a further call on the session) is still the common message: nothing to take, no copy.
  if (!messages.some(mayBeTaken)) return messages;
  return messages.filter((message) => {
    if ('method' in message) {
      if (message.method !== 'notifications/cancelled' || 'id' in message) return true;
      const requestId = message.params?.requestId as RequestId | undefined;
      const call = requestId === undefined ? undefined : direct.calls.get(requestId);
      if (!call) return true;
      call.abort(message.params?.reason ?? 'cancelled by the client');
      return false;
    }
    const settle = 'id' in message && message.id !== undefined && message.id !== null ? direct.asked.get(message.id) : undefined;
    if (!settle) return true;
    settle(message);
    return false;
  });
}

/** A message `takeDirectMessages` may settle: a cancellation notification, or an answer (a message without a method). */
const mayBeTaken = (message: JSONRPCMessage) => !('method' in message) || (message.method === 'notifications/cancelled' && !('id' in message));

/** A call to answer directly: its id and validated params, and the pipeline that serves it. */
export interface DirectCall {
  id: RequestId;
  params: CallToolRequest['params'];
  callTool: ToolCaller;
}

/**
 * The call `messages` make, when it can be answered directly: one valid `tools/call` on an initialized session, from
 * a client that accepts both answer types (as the transport requires) and speaks a version it supports. Everything
 * else, including every way of getting these wrong, goes to the SDK, which answers it as it always has.
 */
export function directCallOf(session: DirectSession, headers: IncomingHttpHeaders, messages: JSONRPCMessage[]): DirectCall | undefined {
  if (messages.length !== 1 || !session.callTool) return undefined;
  const message = messages[0]!;
  if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) return undefined;
  const accept = headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
  const version = headers['mcp-protocol-version'];
  if (version !== undefined && (typeof version !== 'string' || !SUPPORTED_VERSIONS.has(version))) return undefined;
  if (session.server.getClientVersion() === undefined) return undefined;
  const params = plainCallParams(message.params);
  if (params) return { id: message.id, params, callTool: session.callTool };
  const parsed = CallToolRequestSchema.safeParse(message);
  return parsed.success ? { id: message.id, params: parsed.data.params, callTool: session.callTool } : undefined;
}

/**
 * The params of a request the edge validated (jsonrpc-edge.ts) that CallToolRequestSchema accepts unchanged: a string
 * name, arguments absent or an object, no `_meta` and no `task`. Checked by hand on the hot path; the rest is the
 * schema's.
 */
function plainCallParams(params: unknown): CallToolRequest['params'] | undefined {
  if (!isJsonObject(params) || typeof params.name !== 'string' || Object.hasOwn(params, '_meta') || Object.hasOwn(params, 'task')) return undefined;
  if (Object.hasOwn(params, 'arguments') && !isJsonObject(params.arguments)) return undefined;
  return params as CallToolRequest['params'];
}

/**
 * Runs the call and writes its answer to `to.response` with `to.headers` (those of every answer: CORS, request id),
 * given here rather than set on the response beforehand, so that they go out in the one `writeHead`. Never rejects:
 * an error the pipeline should never throw is logged and answered as an internal error, and so is a fault in writing
 * the answer (logged as /mcp's transport faults are, mcp-routes.ts).
 */
export async function answerDirectly(session: DirectSession, call: DirectCall, to: AnswerTo & { log: Pick<FastifyBaseLogger, 'error'> }): Promise<void> {
  // No AbortSignal unless the call's path needs one (upstream/call-abort.ts).
  const controller = new CallAbort();
  session.direct.calls.set(call.id, controller);
  const answer = new ResponseAnswer(to.response, to.headers, session.id);
  const downstream = new DirectDownstream(session, call, answer, controller);
  try {
    try {
      const result = await call.callTool(call.params, downstream);
      if (controller.aborted) answer.end();
      else answer.end({ jsonrpc: '2.0', id: call.id, result });
    } catch (error) {
      // A cancelled request gets no answer (the client stopped waiting for one).
      if (controller.aborted) answer.end();
      else answer.end({ jsonrpc: '2.0', id: call.id, error: errorOf(error, (fault) => to.log.error({ err: fault }, 'tools/call failed')) });
    } finally {
      session.direct.calls.delete(call.id);
    }
  } catch (error) {
    to.log.error({ err: error }, 'mcp transport failed');
    sendInternalError(to);
  }
}

/** What the pipeline sends a direct call's client through: one object per call, its methods its class's, not closures made per call. */
class DirectDownstream implements Downstream {
  readonly progressToken: ProgressToken | undefined;
  readonly logLevel: LoggingLevel | undefined;

  constructor(
    private readonly session: DirectSession,
    private readonly call: DirectCall,
    private readonly answer: LazyEventStream,
    readonly signal: CallAbort,
  ) {
    this.progressToken = call.params._meta?.[META.progressToken];
    this.logLevel = logLevelOf(session.server, session.id);
  }

  async sendProgress(progressToken: ProgressToken, progress: Progress): Promise<void> {
    this.answer.event({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken } });
  }

  // Made when the upstream asks something, which few calls do.
  sendRequest(request: Parameters<Downstream['sendRequest']>[0], options: Parameters<Downstream['sendRequest']>[1]): Promise<Result> {
    const { session } = this;
    return serverRequestSender(askClient(session, this.answer, this.call.id), () => session.server.getClientCapabilities())(request, options);
  }
}

/**
 * The JSON-RPC error for what the pipeline threw: its own code, message and data when it is a JSON-RPC error (the
 * pipeline's refusals, an upstream's relayed error); anything else is a fault of ours, logged and answered without
 * details.
 */
export function errorOf(error: unknown, onFault: (error: unknown) => void): { code: number; message: string; data?: unknown } {
  const { code, message, data } = (error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
  if (!Number.isSafeInteger(code) || typeof message !== 'string') {
    onFault(error);
    return { code: ErrorCode.InternalError, message: 'Internal error' };
  }
  return { code: code as number, message, ...(data === undefined ? {} : { data }) };
}

export interface LazyEventStream {
  /** Sends `message` before the answer: the response becomes an SSE stream if it is not one yet. */
  event(message: JSONRPCMessage): void;
  /** Ends the response with `message` (JSON with `status`, or the last event of the stream), or with nothing. */
  end(message?: JSONRPCMessage, status?: number): void;
  /** Whether the client can still be written to. */
  open(): boolean;
}

/** The answer to one request on `response`, JSON until something must go before it. */
export function lazyEventStream(response: ServerResponse): LazyEventStream {
  return new ResponseAnswer(response, NO_HEADERS, undefined);
}

const NO_HEADERS: Readonly<Record<string, string>> = {};

/** A class, not closures: one object per call on the hot path. `headers` and the session's id go on either answer type. */
class ResponseAnswer implements LazyEventStream {
  private streaming = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly sessionId: string | undefined,
  ) {}

  open(): boolean {
    return !this.response.writableEnded && !this.response.destroyed;
  }

  event(message: JSONRPCMessage): void {
    if (!this.open()) return;
    if (!this.streaming) this.startStream();
    this.write(message);
  }

  end(message?: JSONRPCMessage, status = 200): void {
    if (!this.open()) return;
    if (this.streaming) {
      if (message) this.write(message);
      this.response.end();
    } else if (message) {
      // With its length the answer goes out in one write, headers and body together, not chunked.
      const body = JSON.stringify(message);
      this.response.writeHead(status, this.head(['content-type', 'application/json', 'content-length', Buffer.byteLength(body)])).end(body);
    } else {
      this.startStream();
      this.response.end();
    }
  }

  private startStream() {
    this.streaming = true;
    this.response.writeHead(200, this.head(['content-type', 'text/event-stream', 'cache-control', 'no-cache', 'connection', 'keep-alive']));
  }

  /**
   * `fields` followed by `headers` and the session's id: all of the answer's headers as one flat list (name, value,
   * …), which `writeHead` takes as it is, for the one write of the head.
   */
  private head(fields: Array<string | number>): Array<string | number> {
    for (const name in this.headers) fields.push(name, this.headers[name]!);
    if (this.sessionId !== undefined) fields.push('mcp-session-id', this.sessionId);
    return fields;
  }

  private write(message: JSONRPCMessage) {
    this.response.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }
}

/**
 * Sends a request to the client on the call's stream and waits for the client's answer, which arrives in a later
 * POST (`takeDirectMessages`). Timeouts and aborts cancel it at the client, as the SDK would.
 */
function askClient(session: DirectSession, stream: LazyEventStream, relatedId: RequestId): SendToClient {
  return (request, schema, options) =>
    new Promise<Result>((resolve, reject) => {
      if (!stream.open()) {
        reject(new McpError(ErrorCode.ConnectionClosed, `The client's stream for request ${String(relatedId)} is closed`));
        return;
      }
      const id = `${session.direct.idPrefix}${++session.direct.sent}`;
      const finish = () => {
        session.direct.asked.delete(id);
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const cancel = (reason: string) => {
        finish();
        stream.event({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } });
      };
      const onAbort = () => {
        cancel(String(options.signal?.reason ?? 'cancelled'));
        reject(options.signal?.reason ?? new McpError(ErrorCode.RequestTimeout, 'Request cancelled'));
      };
      const timeout = options.timeout;
      const timer = timeout === undefined ? undefined : setTimeout(() => {
        cancel('timed out');
        reject(new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout }));
      }, timeout);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      session.direct.asked.set(id, (answer) => {
        finish();
        if ('error' in answer) {
          reject(new McpError(answer.error.code, answer.error.message, answer.error.data));
          return;
        }
        const parsed = 'result' in answer ? schema.safeParse(answer.result) : undefined;
        if (parsed?.success) resolve(parsed.data);
        else reject(new McpError(ErrorCode.InvalidParams, `The client's answer to ${request.method} is not valid`));
      });
      stream.event({ jsonrpc: '2.0', id, method: request.method, params: request.params } as JSONRPCMessage);
    });
}
