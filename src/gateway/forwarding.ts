import { CallToolResultSchema, ErrorCode, McpError, type CallToolResult, type LoggingLevel, type Progress, type ProgressToken, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { ToolCallOutcome } from '../store/gateway-types.js';
import { NeedsAuthorization } from '../upstream/oauth/token-vault.js';
import { META } from '../upstream/streamable-http/protocol-eras.js';
import type { RequestSignal } from '../upstream/call-abort.js';
import type { ServerRequestRelay } from '../upstream/streamable-http/server-requests.js';
import { UpstreamInputRequired, type InputPassThrough } from '../upstream/streamable-http/stateless-requests.js';
import { connectsPerUser, type Upstream } from '../upstream/types.js';
import type { UpstreamClient, UpstreamRequestOptions } from '../upstream/upstream-client.js';
import { SpanKind } from '@opentelemetry/api';
import { inSpan, spanWanted } from '../ops/tracing.js';

/**
 * Carrying one request to an upstream and its answer back: progress goes to the downstream client under the
 * client's own progress token, the downstream request's abort signal cancels the upstream request (the SDK
 * then sends `notifications/cancelled` upstream), and failures become what the MCP client can act on:
 * an unavailable or slow upstream is an error RESULT (the model can read it), the upstream's own JSON-RPC
 * error is relayed with its code and message and marked as the upstream's. Requests the upstream sends back while
 * it serves the request (sampling, elicitation) go to this downstream client, and to no other.
 */

/**
 * A JSON-RPC error to answer with exactly this code and message (thrown from a request handler, the SDK sends
 * `code`, `message` and `data` as they are; an McpError would prefix its message with "MCP error <code>: ").
 */
export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** An upstream's error, relayed and marked as the upstream's. */
export class UpstreamError extends JsonRpcError {
  declare readonly data: { upstream: string };
  constructor(code: number, message: string, upstream: string) {
    super(code, message, { upstream });
  }
}

export interface Downstream {
  /** The client's cancellation of the request (an AbortSignal, or a direct call's CallAbort). */
  signal: RequestSignal;
  progressToken: ProgressToken | undefined;
  sendProgress(token: ProgressToken, progress: Progress): Promise<void>;
  /** Sends an upstream's own request to this client, on the stream of the request being forwarded. */
  sendRequest(request: { method: string; params: Record<string, unknown> }, options: { signal: AbortSignal; timeout: number }): Promise<Result>;
  /** The log level this client asked for (a 2025 session's `logging/setLevel`), carried to stateless upstreams. */
  logLevel?: LoggingLevel;
  /**
   * Set for a 2026-07-28 client: a 2026-07-28 upstream's `input_required` result is passed on to it (thrown as
   * `UpstreamInputRequired`) rather than relayed request by request; its retry's answers and the upstream's state.
   */
  passInput?: InputPassThrough;
  /**
   * A 2026-07-28 retry that may continue a call Gatehouse let through before (its sealed state says so, for the same
   * arguments): true once per state, fleet-wide, so a replayed state cannot carry one approval into further calls.
   */
  continuesCall?: () => Promise<boolean>;
}

/** How a call ended: a result for the client, or the upstream's error to relay. `error` is a short reason for the audit. */
export type ForwardedCall =
  | { result: CallToolResult; outcome: ToolCallOutcome; error: string | null }
  | { relay: UpstreamError; outcome: 'upstream_error'; error: string }
  | { inputRequired: UpstreamInputRequired; outcome: 'input_required'; error: null };

const MCP_ERROR_PREFIX = /^MCP error -?\d+: /;

/** A connection to call through: the upstream's own, or a user's (per-user upstreams); or why there is none. */
export type UpstreamAvailability = { client: UpstreamClient } | { unavailable: string };

/** The connected client of `upstream`, or why there is none. */
export function availabilityOf(upstream: Upstream): UpstreamAvailability {
  const status = upstream.status();
  const client = upstream.client();
  if (status.state === 'connected' && client) return { client };
  const reason = status.state === 'error' || status.state === 'needs_auth' ? status.reason : status.state;
  return { unavailable: reason };
}

const errorResult = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });
const unavailableText = (upstream: Upstream, reason: string) => `Upstream "${upstream.settings.name}" is unavailable: ${reason}`;
const timeoutText = (upstream: Upstream) => `Upstream "${upstream.settings.name}" did not answer within ${upstream.settings.timeout_ms} ms`;

/** An upstream request as a client span of the active one: its context is the trace the request carries upstream. */
const inUpstreamSpan = <T>(upstream: Upstream, method: string, work: () => Promise<T>): Promise<T> =>
  // The span's name and attributes are made only for a span that will be.
  spanWanted()
    ? inSpan(`upstream ${upstream.settings.name} ${method}`, { 'mcp.method.name': method, 'gatehouse.upstream': upstream.settings.name }, work, { kind: SpanKind.CLIENT })
    : work();

/** Calls `tool` (its upstream name) on `upstream`; never throws. */
export async function forwardToolCall(
  upstream: Upstream,
  tool: string,
  params: { arguments?: Record<string, unknown>; _meta?: Record<string, unknown> },
  downstream: Downstream,
  connection: UpstreamAvailability = availabilityOf(upstream),
): Promise<ForwardedCall> {
  if ('unavailable' in connection) {
    return { result: errorResult(unavailableText(upstream, connection.unavailable)), outcome: 'upstream_error', error: `unavailable: ${connection.unavailable}` };
  }
  const progressSent: Promise<void>[] = [];
  try {
    // Relayed as it is, not through `callTool`: the downstream client validates structured output against the schema
    // it was shown, and the client is shared by every session.
    const message = { method: 'tools/call', params: upstreamParams(tool, params) };
    const { client } = connection;
    const result = await inUpstreamSpan(upstream, 'tools/call', () => client.forward(message, CallToolResultSchema, requestOptions(upstream, downstream, progressSent)));
    // Most calls relay no progress: nothing to wait for, and no await.
    if (progressSent.length > 0) await Promise.all(progressSent);
    return result.isError ? { result, outcome: 'tool_error', error: 'the tool reported an error' } : { result, outcome: 'ok', error: null };
  } catch (error) {
    if (error instanceof UpstreamInputRequired) return { inputRequired: error, outcome: 'input_required', error: null };
    if (downstream.signal.aborted) return { result: errorResult('Cancelled'), outcome: 'cancelled', error: 'cancelled by the client' };
    if (isTimeout(error)) return { result: errorResult(timeoutText(upstream)), outcome: 'timeout', error: `no answer within ${upstream.settings.timeout_ms} ms` };
    if (isConnectionLoss(error)) {
      return { result: errorResult(unavailableText(upstream, 'connection lost')), outcome: 'upstream_error', error: 'unavailable: connection lost' };
    }
    if (error instanceof NeedsAuthorization) {
      return { result: errorResult(unavailableText(upstream, error.reason)), outcome: 'upstream_error', error: `needs authorization: ${error.reason}` };
    }
    const relay = relayedError(upstream, error);
    return { relay, outcome: 'upstream_error', error: `upstream error ${relay.code}` };
  }
}

/** Sends any other request (resources/read, prompts/get, completion/complete) to `upstream`; failures become MCP errors. */
export async function forwardRequest<S extends z.ZodType>(
  upstream: Upstream,
  message: { method: string; params: Record<string, unknown> },
  resultSchema: S,
  downstream: Downstream,
  connection: UpstreamAvailability = availabilityOf(upstream),
): Promise<z.output<S>> {
  if ('unavailable' in connection) throw new UpstreamError(ErrorCode.InternalError, unavailableText(upstream, connection.unavailable), upstream.settings.name);
  const progressSent: Promise<void>[] = [];
  try {
    const { client } = connection;
    const result = await inUpstreamSpan(upstream, message.method, () => client.forward(message, resultSchema, requestOptions(upstream, downstream, progressSent)));
    if (progressSent.length > 0) await Promise.all(progressSent);
    return result;
  } catch (error) {
    if (error instanceof UpstreamInputRequired) throw error;
    if (isTimeout(error) && !downstream.signal.aborted) throw new UpstreamError(ErrorCode.RequestTimeout, timeoutText(upstream), upstream.settings.name);
    if (isConnectionLoss(error)) throw new UpstreamError(ErrorCode.InternalError, unavailableText(upstream, 'connection lost'), upstream.settings.name);
    if (error instanceof NeedsAuthorization) throw new UpstreamError(ErrorCode.InternalError, unavailableText(upstream, error.reason), upstream.settings.name);
    throw relayedError(upstream, error);
  }
}

/** The upstream's requests wait for the client's answer as long as the upstream waits for its own. */
const relayTo =
  (upstream: Upstream, downstream: Downstream): ServerRequestRelay =>
  (request, signal) =>
    downstream.sendRequest(request, { signal, timeout: upstream.settings.timeout_ms });

function requestOptions(upstream: Upstream, downstream: Downstream, progressSent: Promise<void>[]): UpstreamRequestOptions {
  const options: UpstreamRequestOptions = {
    signal: downstream.signal,
    timeoutMs: upstream.settings.timeout_ms,
    onProgress: progressRelay(downstream, progressSent),
    onServerRequest: relayTo(upstream, downstream),
  };
  // A per-user upstream's log messages go to nobody (session-events.ts): none are asked for.
  if (downstream.logLevel !== undefined && !connectsPerUser(upstream.settings)) options.logLevel = downstream.logLevel;
  if (downstream.passInput) options.passInput = downstream.passInput;
  return options;
}

/**
 * Progress of the upstream request to the downstream client, under the client's own token; only when the client asked
 * for progress (the upstream then gets a token of the gateway's). `progressSent` collects the relayed notifications;
 * callers await them before answering, because one relayed just before the result must reach the client first (it
 * stops listening at the response).
 */
function progressRelay(downstream: Downstream, progressSent: Promise<void>[]): ((progress: Progress) => void) | undefined {
  const { progressToken } = downstream;
  if (progressToken === undefined) return undefined;
  // Called as a method: a downstream may be an object whose methods are its class's (direct-tool-calls.ts).
  return (progress) => void progressSent.push(downstream.sendProgress(progressToken, progress).catch(() => undefined));
}

/** The downstream `_meta` travels on, except the progress token, which belongs to the downstream connection. */
function upstreamParams(name: string, params: { arguments?: Record<string, unknown>; _meta?: Record<string, unknown> }) {
  // The common call has no `_meta`: no copies of it to make.
  if (params._meta === undefined) return params.arguments === undefined ? { name } : { name, arguments: params.arguments };
  const { [META.progressToken]: _downstreamToken, ...meta } = params._meta;
  return {
    name,
    ...(params.arguments === undefined ? {} : { arguments: params.arguments }),
    ...(Object.keys(meta).length === 0 ? {} : { _meta: meta }),
  };
}

const isTimeout = (error: unknown) => error instanceof McpError && error.code === ErrorCode.RequestTimeout;
// The SDK's own error when the connection drops; an upstream may send -32000 for its own reasons, with data or other words.
const isConnectionLoss = (error: unknown) =>
  error instanceof McpError && error.code === ErrorCode.ConnectionClosed && error.data === undefined && error.message.endsWith(': Connection closed');

/** The upstream's JSON-RPC error with its own code and message; anything else (an invalid result) as an internal error. */
function relayedError(upstream: Upstream, error: unknown): UpstreamError {
  if (error instanceof McpError) return new UpstreamError(error.code, error.message.replace(MCP_ERROR_PREFIX, ''), upstream.settings.name);
  return new UpstreamError(ErrorCode.InternalError, `Upstream "${upstream.settings.name}" sent an invalid response`, upstream.settings.name);
}
