import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Implementation,
  type JSONRPCMessage,
  type LoggingLevel,
  type Progress,
  type Result,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { abortSignalOf, type RequestSignal } from './call-abort.js';
import type { DirectRequests } from './streamable-http/direct-requests.js';
import { discover, type Negotiated } from './streamable-http/era-negotiation.js';
import { statelessResultSchema, type NegotiatedProtocol, type ProtocolEra } from './streamable-http/protocol-eras.js';
import { isJsonObject } from '../json-object.js';
import { RELAYED_CAPABILITIES, refuseServerRequests, relayServerRequests, type ServerRequestRelay, type ServerRequestRelays } from './streamable-http/server-requests.js';
import { listChangesFilter, listenStream, type ListenStream } from './streamable-http/listen-stream.js';
import { requestStateless, type InputPassThrough } from './streamable-http/stateless-requests.js';
import { ToolParamHeaders, type ToolRejected } from './streamable-http/tool-param-headers.js';

/** How one request to an upstream is carried: its cancellation, time limit, and where its side traffic goes. */
export interface UpstreamRequestOptions {
  /** Aborting it cancels the request upstream (`notifications/cancelled`, or a closed stream) and rejects. */
  signal: RequestSignal;
  timeoutMs: number;
  /** Present when the caller wants progress: each progress notification of the request, without its token. */
  onProgress?: (progress: Progress) => void;
  /** Requests the upstream sends while serving this one (sampling, elicitation; `input_required` on stateless upstreams); absent: they are refused. */
  onServerRequest?: ServerRequestRelay;
  /**
   * The level of log messages the client asked for (`logging/setLevel`). Stateless upstreams get it in the request's
   * `_meta` and send messages only then; a session-era upstream's messages are connection-wide, filtered downstream.
   */
  logLevel?: LoggingLevel;
  /** A caller that takes a stateless upstream's `input_required` results itself; session-era upstreams use `onServerRequest`. */
  passInput?: InputPassThrough;
  /** `tools/list` on a stateless upstream: each tool left out for invalid `x-mcp-header` declarations, with why. */
  onToolRejected?: ToolRejected;
}

/** What a connection does with the upstream's own notifications, whichever era it speaks. */
export interface UpstreamNotificationHandlers {
  listChanged(kind: 'tools' | 'resources' | 'prompts'): void;
  /** A `notifications/message` (its LoggingMessageNotification params). */
  log(params: unknown): void;
  /** A `notifications/resources/updated`: the resource at `uri` changed. */
  resourceUpdated(uri: string): void;
}

/** The requests that take a Streamable HTTP upstream's direct path: the hot one. Everything else goes through the SDK. */
const DIRECT_METHODS = new Set(['tools/call']);

const LIST_CHANGES = {
  'notifications/tools/list_changed': 'tools',
  'notifications/resources/list_changed': 'resources',
  'notifications/prompts/list_changed': 'prompts',
} as const;

interface StatelessState {
  direct: DirectRequests;
  discovered: Extract<Negotiated, { era: 'stateless' }>['discovered'];
  /** The connection's `subscriptions/listen` stream: list changes and subscribed resources. */
  listen: ListenStream;
  /** The tools' `x-mcp-header` declarations, from this connection's listings. */
  paramHeaders: ToolParamHeaders;
}

/** The 2025 subscription requests, which a stateless upstream takes as a change of the listen filter. */
const SUBSCRIPTION_METHODS = new Set(['resources/subscribe', 'resources/unsubscribe']);

/**
 * The SDK Client the gateway talks to an upstream with, shared by every session (or, per-user upstreams, every
 * session of one user). `forward` is the one way the gateway sends a request: it picks the path itself, the direct
 * Streamable HTTP path (streamable-http/direct-requests.ts) for tool calls when the connection has one, else the
 * SDK's. Streamable HTTP clients are offered sampling and elicitation and relay them (streamable-http/server-requests.ts).
 * An upstream of the stateless era (2026-07-28, found by streamable-http/era-negotiation.ts) is never connected
 * through the SDK: `speakStateless` sends every request on the direct path, with its input rounds
 * (streamable-http/stateless-requests.ts), and answers the SDK's questions (capabilities, version) from `server/discover`.
 */
export class UpstreamClient extends Client {
  private direct: DirectRequests | undefined;
  private readonly relays: ServerRequestRelays | undefined;
  private stateless: StatelessState | undefined;
  private notificationHandlers: UpstreamNotificationHandlers | undefined;
  /** Who Gatehouse says it is to the upstream (`initialize`, or each stateless request's `_meta`). */
  readonly clientInfo: { name: string; version: string };

  /** `streamableHttp`: the connection is Streamable HTTP, where the upstream's requests can be attributed. */
  constructor(clientVersion: string, { streamableHttp }: { streamableHttp: boolean }) {
    const clientInfo = { name: 'gatehouse', version: clientVersion };
    super(clientInfo, { capabilities: streamableHttp ? RELAYED_CAPABILITIES : {} });
    this.clientInfo = clientInfo;
    this.relays = streamableHttp ? relayServerRequests(this) : undefined;
  }

  /** `opened`'s transport, ready for `connect`; its direct path, if it has one, is used from now on. */
  attach(opened: { transport: Transport; direct?: DirectRequests }): Transport {
    // Only Streamable HTTP connections relay, and only they have a direct path.
    if (!this.relays) return opened.transport;
    this.direct = opened.direct;
    return this.relays.track(opened.transport);
  }

  /**
   * Takes the upstream as stateless instead of connecting: every request goes on `direct`, and `transport` (which the
   * SDK never starts) only carries the direct path's notifications, trouble and end (a stdio child that exited).
   * Holds its one listen stream (streamable-http/listen-stream.ts): the list changes it announces, the resources subscribed.
   */
  speakStateless(negotiated: Extract<Negotiated, { era: 'stateless' }>, transport: Transport, direct: DirectRequests): void {
    const notified = (message: JSONRPCMessage) => this.notified(message);
    const listen = listenStream(direct, listChangesFilter(negotiated.discovered.capabilities), notified);
    this.stateless = { direct, discovered: negotiated.discovered, listen, paramHeaders: new ToolParamHeaders() };
    transport.onmessage = notified;
    transport.onerror = (error) => this.onerror?.(error);
    transport.onclose = () => this.onclose?.();
  }

  /** The era and revision this client speaks with its upstream. */
  protocol(): NegotiatedProtocol {
    if (this.stateless) return { era: 'stateless', version: this.stateless.direct.protocolVersion() };
    const version = (this.transport as { protocolVersion?: string } | undefined)?.protocolVersion;
    return version === undefined ? { era: 'session' } : { era: 'session', version };
  }

  /** Sets where the upstream's list changes and log messages go (on the SDK client, or from the stateless direct path). */
  watchNotifications(handlers: UpstreamNotificationHandlers): void {
    this.notificationHandlers = handlers;
    this.setNotificationHandler(ToolListChangedNotificationSchema, () => handlers.listChanged('tools'));
    this.setNotificationHandler(ResourceListChangedNotificationSchema, () => handlers.listChanged('resources'));
    this.setNotificationHandler(PromptListChangedNotificationSchema, () => handlers.listChanged('prompts'));
    this.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => handlers.log(notification.params));
    this.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => handlers.resourceUpdated(notification.params.uri));
  }

  private notified(message: JSONRPCMessage): void {
    if (!('method' in message) || 'id' in message) return;
    const kind = LIST_CHANGES[message.method as keyof typeof LIST_CHANGES];
    if (kind) this.notificationHandlers?.listChanged(kind);
    else if (message.method === 'notifications/message') this.notificationHandlers?.log(message.params);
    else if (message.method === 'notifications/resources/updated') {
      const updated = ResourceUpdatedNotificationSchema.safeParse(message);
      if (updated.success) this.notificationHandlers?.resourceUpdated(updated.data.params.uri);
    }
  }

  override getServerCapabilities(): ServerCapabilities | undefined {
    return this.stateless ? (this.stateless.discovered.capabilities as ServerCapabilities) : super.getServerCapabilities();
  }

  override getServerVersion(): Implementation | undefined {
    return this.stateless ? this.stateless.discovered.serverInfo : super.getServerVersion();
  }

  override getInstructions(): string | undefined {
    return this.stateless ? this.stateless.discovered.instructions : super.getInstructions();
  }

  /** The liveness check: `ping`, or `server/discover` on a stateless upstream (2026-07-28 has no ping). */
  override async ping(options?: RequestOptions): Promise<{ _meta?: Record<string, unknown> }> {
    if (!this.stateless) return super.ping(options);
    const timeoutMs = options?.timeout ?? 60_000;
    await discover(this.stateless.direct, timeoutMs, options?.signal ?? AbortSignal.timeout(timeoutMs));
    return {};
  }

  override async close(): Promise<void> {
    this.stateless?.listen.close();
    await super.close();
  }

  /** Sends one request on this connection and checks its result against `resultSchema`. */
  async forward<S extends z.ZodType>(message: { method: string; params?: Record<string, unknown> }, resultSchema: S, options: UpstreamRequestOptions): Promise<z.output<S>> {
    if (this.direct && !this.stateless && DIRECT_METHODS.has(message.method)) {
      // The one path that takes the caller's signal as it is (a CallAbort makes no AbortSignal here).
      const { signal, timeoutMs, onProgress, onServerRequest = refuseServerRequests } = options;
      return checked(message.method, resultSchema, await this.direct.request(message, { signal, timeoutMs, onProgress, onServerRequest }));
    }
    return this.forwardOther(message, resultSchema, options);
  }

  /** Every path but the direct one: apart, so the hot path's frame carries none of their closures and locals. */
  private async forwardOther<S extends z.ZodType>(message: { method: string; params?: Record<string, unknown> }, resultSchema: S, options: UpstreamRequestOptions): Promise<z.output<S>> {
    const { timeoutMs, onProgress, onServerRequest = refuseServerRequests } = options;
    const signal = abortSignalOf(options.signal);
    if (this.stateless && SUBSCRIPTION_METHODS.has(message.method)) return checked(message.method, resultSchema, await this.changeSubscription(this.stateless.listen, message, signal));
    if (this.stateless) return checked(message.method, resultSchema, await this.requestStateless(this.stateless, message, { ...options, signal }), 'stateless');
    const send = () => this.request(message, resultSchema, { timeout: timeoutMs, signal, onprogress: onProgress }) as Promise<z.output<S>>;
    return this.relays ? this.relays.during(onServerRequest, send) : send();
  }

  /** A stateless request; tool listings and calls carry out `x-mcp-header` (streamable-http/tool-param-headers.ts). */
  private async requestStateless({ direct, paramHeaders }: StatelessState, message: { method: string; params?: Record<string, unknown> }, options: UpstreamRequestOptions & { signal: AbortSignal }): Promise<Result> {
    if (message.method === 'tools/call') return paramHeaders.call(direct, message, options);
    const result = await requestStateless(direct, message, options);
    return message.method === 'tools/list' ? paramHeaders.admit(result, message.params?.cursor === undefined, options.onToolRejected) : result;
  }

  /** `resources/subscribe` or `unsubscribe` on a stateless upstream: its resource joins or leaves the listen filter. */
  private async changeSubscription(listen: ListenStream, message: { method: string; params?: Record<string, unknown> }, signal: AbortSignal): Promise<Result> {
    const uri = message.params?.uri;
    if (typeof uri !== 'string') throw new McpError(ErrorCode.InvalidParams, `${message.method} needs a uri`);
    await (message.method === 'resources/subscribe' ? listen.subscribe(uri, signal) : listen.unsubscribe(uri, signal));
    return {};
  }
}

/**
 * A tool result of text blocks only (`content` and at most `isError`; each block `type: 'text'` and its `text`), which
 * CallToolResultSchema accepts unchanged: checked by hand, as zod costs more than that on every call. Anything else
 * is the schema's (so does a key this check is unsure of). Loops, not callbacks: no closure per call or block.
 */
export function isPlainTextToolResult(result: unknown): boolean {
  if (!isJsonObject(result) || !Array.isArray(result.content)) return false;
  for (const key in result) if (key !== 'content' && !(key === 'isError' && typeof result.isError === 'boolean')) return false;
  for (const block of result.content as unknown[]) {
    if (!isJsonObject(block) || block.type !== 'text' || typeof block.text !== 'string') return false;
    for (const key in block) if (key !== 'type' && key !== 'text') return false;
  }
  return true;
}

/** The same check the SDK would make of a result, with what 2026-07-28 allows beyond it for a stateless upstream's. */
function checked<S extends z.ZodType>(method: string, resultSchema: S, result: unknown, era: ProtocolEra = 'session'): z.output<S> {
  if ((resultSchema as z.ZodType) === CallToolResultSchema && isPlainTextToolResult(result)) return result as z.output<S>;
  const parsed = (era === 'stateless' ? statelessResultSchema(resultSchema) : resultSchema).safeParse(result);
  if (!parsed.success) throw new Error(`invalid ${method} result`);
  return parsed.data as z.output<S>;
}
