import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  PaginatedRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
  type ClientCapabilities,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { META } from '../../upstream/streamable-http/protocol-eras.js';
import { UpstreamInputRequired, type InputPassThrough } from '../../upstream/streamable-http/stateless-requests.js';
import { VERSION } from '../../version.js';
import type { CacheHint } from '../cache-hints.js';
import { findTool, type ListKind } from '../catalog.js';
import { errorOf, lazyEventStream, type LazyEventStream } from '../direct-tool-calls.js';
import { JsonRpcError, type Downstream } from '../forwarding.js';
import { askInBrowser } from '../browser-prompts.js';
import { RESOURCE_NOT_FOUND, type GatewayOperations, type GatewayOperationsOptions } from '../gateway-operations.js';
import type { GatewayState } from '../gateway-state.js';
import type { Principal } from '../principal.js';
import { ClientLacksCapability, serverRequestSender } from '../upstream-requests.js';
import { resumeRun, stepOf, type CallRun, type CallRuns, type CallStep } from './call-runs.js';
import type { FleetCallRuns } from './fleet-call-runs.js';
import {
  argumentsDigest,
  browserStep,
  credentialOf,
  declinedInBrowser,
  endpointOf,
  InputRequired,
  missingCapability,
  openRequestState,
  passedOn,
  REQUEST_STATE_TTL_MS,
  sealRequestState,
  type GatewayRequestState,
  type RequestStateContext,
} from './input-required.js';
import type { ListenStreams, SubscriptionFilter } from './listen-streams.js';
import { checkParamHeaders, checkRequest, MISSING_CLIENT_CAPABILITY, MODERN_VERSIONS, withoutProtocolMeta, type RequestMeta } from './request-metadata.js';

/**
 * A MCP 2026-07-28 request at /mcp, served statelessly (basic/versioning, "Backward Compatibility"): no session, the
 * client's version and capabilities in the request's own `_meta`. Pipeline: headers and `_meta` (request-metadata.ts)
 * → Gatehouse's `requestState` of a retry opened, and what passes on to an upstream that asks for input → the method
 * → the gateway's operation, the same one a 2025 session's server calls (gateway-operations.ts) → the answer shaped
 * for 2026-07-28 (`resultType`, cache hints, `serverInfo`, -32602 for a missing resource; a 2026-07-28 upstream's
 * `input_required` passed on), as JSON, or as an SSE stream once progress must go first. Closing the response is the
 * client's cancellation.
 */

export interface StatelessServing {
  gateway: Pick<GatewayState, 'registry' | 'catalog'>;
  /** The operations for this caller (one object per request), with the answer to a user who must connect an upstream. */
  operationsFor(principal: Principal, ask: GatewayOperationsOptions['ask']): GatewayOperations;
  /** Seals the gateway's own `requestState` (the AEAD key of the key ring). */
  requestStateKey: Buffer;
  /** Tool calls parked while their client answers an upstream's question. */
  runs: CallRuns;
  /** Retries of calls parked on another replica, forwarded there. */
  fleetRuns: Pick<FleetCallRuns, 'continueOn'>;
  listen: ListenStreams;
  /** Spends `once` fleet-wide until `until`: true the first time only (a passed-on state continues one call). */
  spendOnce(once: string, until: number): Promise<boolean>;
  onFault(error: unknown): void;
}

export const SERVER_INFO = Object.freeze({ name: 'gatehouse', title: 'Gatehouse', version: VERSION });
/** What a 2026-07-28 client may rely on (no `logging`: upstreams' log messages belong to no request). */
const CAPABILITIES = Object.freeze({
  tools: Object.freeze({ listChanged: true }),
  resources: Object.freeze({ listChanged: true, subscribe: true }),
  prompts: Object.freeze({ listChanged: true }),
  completions: Object.freeze({}),
});
/** The discovery result is the same for everyone and changes only with a new version of Gatehouse. */
const DISCOVER_HINT: CacheHint = Object.freeze({ ttlMs: 3_600_000, cacheScope: 'public' });

const LISTS: Record<string, ListKind> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

const ListenParamsSchema = z.object({
  notifications: z.object({
    toolsListChanged: z.boolean().optional(),
    promptsListChanged: z.boolean().optional(),
    resourcesListChanged: z.boolean().optional(),
    resourceSubscriptions: z.array(z.string()).optional(),
  }),
});

/** What one request's handler gets: its operations, what goes back to the client, and whether it is a retry. */
interface Exchange {
  request: JSONRPCRequest;
  operations: GatewayOperations;
  downstream: Downstream;
  /** The client's answers, when this is a retry with a `requestState` of Gatehouse's (already opened). */
  retry?: { state: GatewayRequestState; inputResponses: unknown };
  /** What a tool call that outlives this request needs (call-runs.ts). */
  call: {
    serving: StatelessServing;
    principal: Principal;
    meta: RequestMeta;
    /** What goes to a 2026-07-28 upstream that asks for input, and whether this retry continues a call let through. */
    passing: Pick<Downstream, 'passInput' | 'continuesCall'>;
    stream: LazyEventStream;
    closed: AbortSignal;
    state: RequestStateContext;
    progressToken: string | number | undefined;
  };
}

type Answer = { result: Record<string, unknown>; hint?: CacheHint };

/** Serves one 2026-07-28 message (batches are not part of 2026-07-28: the edge refuses them). */
export async function serveStateless(
  serving: StatelessServing,
  principal: Principal,
  headers: IncomingHttpHeaders,
  message: JSONRPCMessage,
  response: ServerResponse,
): Promise<void> {
  if (!('method' in message)) return writeError(response, 400, null, ErrorCode.InvalidRequest, 'Invalid Request: a 2026-07-28 server sends no requests to answer');
  // Notifications need nothing: a request is cancelled by closing its stream.
  if (!('id' in message)) return void response.writeHead(202).end();
  const checked = checkRequest(headers, message);
  if ('refusal' in checked) {
    const { status, code, message: text, data } = checked.refusal;
    return writeError(response, status, message.id, code, text, data);
  }
  if (message.method === 'subscriptions/listen') return listen(serving, principal, message, response);
  const { meta } = checked;
  const handler = HANDLERS[message.method] ?? (LISTS[message.method] ? listHandler(LISTS[message.method]!) : undefined);
  if (!handler) return writeError(response, 404, message.id, ErrorCode.MethodNotFound, `Method not found: ${message.method}`);
  const headerRefusal = message.method === 'tools/call' ? paramHeaderRefusal(serving, headers, message) : undefined;
  if (headerRefusal) return writeError(response, headerRefusal.status, message.id, headerRefusal.code, headerRefusal.message);

  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableEnded) controller.abort('the client closed the stream');
  });
  const stream = lazyEventStream(response);
  const missing: { capabilities?: ClientCapabilities } = {};
  try {
    const state = stateContext(serving, principal, message);
    const retry = retryOf(state, message);
    const passed = retry?.state.passed;
    const continuesCall = passed ? () => serving.spendOnce(passed.once, retry!.state.issuedAt + REQUEST_STATE_TTL_MS) : undefined;
    const passing = { passInput: inputPassThrough(message, retry, meta.clientCapabilities), continuesCall };
    const downstream = statelessDownstream(message, meta, stream, controller, missing, passing);
    const operations = serving.operationsFor(principal, browserStep(state, meta.clientCapabilities));
    const call = { serving, principal, meta, passing, stream, closed: controller.signal, state, progressToken: downstream.progressToken };
    const answer = await handler({ request: message, operations, downstream, retry, call }).catch((error: unknown) => {
      throw error instanceof UpstreamInputRequired ? passedOn(state, error, meta.clientCapabilities) : error;
    });
    if (controller.signal.aborted && !missing.capabilities) return stream.end();
    if (missing.capabilities) throw missingCapability(missing.capabilities);
    stream.end({ jsonrpc: '2.0', id: message.id, result: completed(answer) });
  } catch (error) {
    if (controller.signal.aborted && !missing.capabilities) return stream.end();
    // Interim: carries no cache hints (server/utilities/caching).
    if (error instanceof InputRequired) return stream.end({ jsonrpc: '2.0', id: message.id, result: { resultType: 'input_required', ...error.result } });
    const { code, message: text, data } = errorOf(error, serving.onFault);
    // 2026-07-28 answers a missing resource with -32602 (changelog, item 6).
    const renumbered = code === RESOURCE_NOT_FOUND ? ErrorCode.InvalidParams : code;
    stream.end({ jsonrpc: '2.0', id: message.id, error: { code: renumbered, message: text, ...(data === undefined ? {} : { data }) } }, renumbered === MISSING_CLIENT_CAPABILITY ? 400 : 200);
  }
}

const HANDLERS: Record<string, (exchange: Exchange) => Promise<Answer>> = {
  'server/discover': async () => ({ result: { supportedVersions: [...MODERN_VERSIONS], capabilities: CAPABILITIES }, hint: DISCOVER_HINT }),
  'tools/call': async ({ request, operations, retry, call }) => {
    // The schema keeps neither `requestState` nor `inputResponses`: what of them is an upstream's goes as `passing`.
    const { params } = parsed(CallToolRequestSchema, request);
    if (retry?.state.upstreamId !== undefined && declinedInBrowser(retry.inputResponses)) {
      return { result: { isError: true, content: [{ type: 'text', text: 'Not called: you declined what you were asked in your browser.' }] } };
    }
    const step = await callStep(call, retry, (downstream) => operations.callTool(withoutProtocolMeta(params), downstream));
    if ('ask' in step) {
      const { ask, run, replica } = step;
      throw new InputRequired({ inputRequests: { [ask.key]: ask.request }, requestState: sealRequestState(call.state, { run, key: ask.key, replica }) });
    }
    if ('error' in step) throw step.error;
    return { result: step.result };
  },
  'resources/read': async ({ request, operations, downstream }) => operations.readResource(withoutProtocolMeta(parsed(ReadResourceRequestSchema, request).params), downstream),
  'prompts/get': async ({ request, operations, downstream }) => ({
    result: await operations.getPrompt(withoutProtocolMeta(parsed(GetPromptRequestSchema, request).params), downstream),
  }),
  'completion/complete': async ({ request, operations, downstream }) => ({
    result: await operations.complete(withoutProtocolMeta(parsed(CompleteRequestSchema, request).params), downstream),
  }),
};

const listHandler =
  (kind: ListKind) =>
  async ({ request, operations }: Exchange): Promise<Answer> =>
    operations.list(kind, parsed(PaginatedRequestSchema, request).params?.cursor);

/**
 * The request a `requestState` of this request must have been issued for: its method and name (or URI), its arguments,
 * the user, the endpoint and the credential.
 */
function stateContext(serving: StatelessServing, principal: Principal, request: JSONRPCRequest): RequestStateContext {
  const params = (request.params ?? {}) as { name?: unknown; uri?: unknown; arguments?: unknown };
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : '';
  const { userId } = principal;
  return { key: serving.requestStateKey, userId, endpoint: endpointOf(principal), credential: credentialOf(principal), method: request.method, name, args: argumentsDigest(params.arguments) };
}

/** A retry carries Gatehouse's sealed state back: opened here, or the request is refused before it runs. */
function retryOf(context: RequestStateContext, request: JSONRPCRequest): Exchange['retry'] {
  const params = (request.params ?? {}) as { requestState?: unknown; inputResponses?: unknown };
  if (params.requestState === undefined) return undefined;
  if (typeof params.requestState !== 'string') throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: requestState must be a string');
  return { state: openRequestState(context, params.requestState), inputResponses: params.inputResponses };
}

/** The requests an `input_required` result may answer (basic/patterns/mrtr; `tasks/result` is of an extension Gatehouse does not offer). */
const MULTI_ROUND_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** An `InputResponses` map: each answer is the result object of the input request under the same key. */
const InputResponsesSchema = z.record(z.string(), z.looseObject({}));

/**
 * What goes to a 2026-07-28 upstream that asks this client for input (passed on by input-required.ts `passedOn`): the
 * client's capabilities of those it can be asked for, and the client's answers with the upstream's state when it
 * sends them. A retry of one of Gatehouse's own questions (a browser step, a parked call) takes none of its answers on.
 * Other methods pass nothing on: an upstream's input request there fails the request, as a 2025 upstream's does.
 */
function inputPassThrough(request: JSONRPCRequest, retry: Exchange['retry'], capabilities: ClientCapabilities): InputPassThrough | undefined {
  if (!MULTI_ROUND_METHODS.has(request.method)) return undefined;
  const { sampling, elicitation, roots } = capabilities;
  const clientCapabilities = { ...(sampling ? { sampling } : {}), ...(elicitation ? { elicitation } : {}), ...(roots ? { roots } : {}) };
  const given = (request.params as { inputResponses?: unknown } | undefined)?.inputResponses;
  if ((retry && !retry.state.passed) || given === undefined) return { clientCapabilities };
  const inputResponses = InputResponsesSchema.safeParse(given);
  if (!inputResponses.success) throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: inputResponses must map each key to an answer object');
  const requestState = retry?.state.passed?.requestState;
  return { clientCapabilities, inputResponses: inputResponses.data, ...(requestState === undefined ? {} : { requestState }) };
}

/** The request checked against its method's schema; invalid params are the client's mistake (-32602). */
function parsed<S extends z.ZodType>(schema: S, request: JSONRPCRequest): z.output<S> {
  const result = schema.safeParse(request);
  if (!result.success) throw new JsonRpcError(ErrorCode.InvalidParams, `Invalid params for ${request.method}`);
  return result.data;
}

/** A result as 2026-07-28 has it: `resultType`, the cache hint where the method has one, Gatehouse named in `_meta`. */
function completed({ result, hint }: Answer): Record<string, unknown> {
  const meta = { ...(result._meta as Record<string, unknown> | undefined), [META.serverInfo]: SERVER_INFO };
  return { ...result, resultType: 'complete', ...(hint ? { ttlMs: hint.ttlMs, cacheScope: hint.cacheScope } : {}), _meta: meta };
}

/**
 * Where the upstream's side traffic of this request goes: progress onto the response stream; the upstream's own
 * requests are checked against what the client declared in this request (a missing capability ends the request with
 * -32021), and none is sent: a 2026-07-28 stream carries no requests to the client. A 2026-07-28 upstream's
 * `input_required` is not a request: it passes on (`passing`).
 */
function statelessDownstream(
  request: JSONRPCRequest,
  meta: RequestMeta,
  stream: LazyEventStream,
  controller: AbortController,
  missing: { capabilities?: ClientCapabilities },
  passing: Exchange['call']['passing'],
): Downstream {
  const progressToken = request.params?._meta?.[META.progressToken];
  const noInputRequests = async (): Promise<never> => {
    throw new JsonRpcError(ErrorCode.MethodNotFound, 'Gatehouse does not pass an upstream request on to a 2026-07-28 client');
  };
  const admit = serverRequestSender(noInputRequests, () => meta.clientCapabilities);
  return {
    signal: controller.signal,
    progressToken,
    ...passing,
    sendProgress: async (token, progress) => stream.event({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken: token } }),
    async sendRequest(upstreamRequest, options) {
      try {
        return await admit(upstreamRequest, options);
      } catch (error) {
        if (error instanceof ClientLacksCapability) {
          missing.capabilities = error.required;
          controller.abort('the request needs a capability the client did not declare');
        }
        throw error;
      }
    },
  };
}

/**
 * A call whose upstream may ask the client something: its questions become `input_required` results (the upstream
 * waits), a question for a capability the client did not declare ends it with -32021.
 */
function startCall(call: Exchange['call'], work: (downstream: Downstream) => Promise<CallToolResult>): CallRun {
  return call.serving.runs.start(call.principal.userId, (run) => {
    const admit = serverRequestSender(run.ask, () => call.meta.clientCapabilities);
    return work({
      signal: run.signal,
      progressToken: call.progressToken,
      ...call.passing,
      sendProgress: async (token, progress) => run.progress({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken: token } }),
      async sendRequest(upstreamRequest, options) {
        try {
          return await admit(upstreamRequest, options);
        } catch (error) {
          if (error instanceof ClientLacksCapability) run.fail(missingCapability(error.required));
          throw error;
        }
      },
    });
  });
}

/**
 * A tool call until it ends or asks the client something: a new call started here, or the parked call a retry
 * continues, here or on the replica holding it (fleet-call-runs.ts).
 */
async function callStep(call: Exchange['call'], retry: Exchange['retry'], work: (downstream: Downstream) => Promise<CallToolResult>): Promise<CallStep> {
  const { runs, fleetRuns } = call.serving;
  const { userId } = call.principal;
  const { run, key = '', replica } = retry?.state ?? {};
  if (run === undefined) return stepOf(runs, startCall(call, work), call.stream, call.closed);
  if (replica !== undefined && replica !== runs.replica) return fleetRuns.continueOn(replica, { run, key }, userId, retry!.inputResponses, call.stream, call.closed);
  return stepOf(runs, resumeRun(runs, { run, key }, userId, retry!.inputResponses), call.stream, call.closed);
}

/** The `Mcp-Param-*` headers of a call to a known tool, checked against its arguments. */
function paramHeaderRefusal(serving: StatelessServing, headers: IncomingHttpHeaders, request: JSONRPCRequest) {
  const params = request.params as { name?: unknown; arguments?: Record<string, unknown> } | undefined;
  const found = typeof params?.name === 'string' ? findTool(serving.gateway.registry, serving.gateway.catalog, params.name) : undefined;
  return found ? checkParamHeaders(headers, found.tool.inputSchema, params?.arguments) : undefined;
}

async function listen(serving: StatelessServing, principal: Principal, request: JSONRPCRequest, response: ServerResponse): Promise<void> {
  const params = ListenParamsSchema.safeParse(request.params);
  if (!params.success) return writeError(response, 200, request.id, ErrorCode.InvalidParams, 'Invalid params: subscriptions/listen needs a notifications filter');
  // No request of this stream asks the person anything.
  const operations = serving.operationsFor(principal, (prompt) => askInBrowser(prompt, undefined));
  await serving.listen.open(principal, request.id, params.data.notifications as SubscriptionFilter, response, operations);
}

function writeError(response: ServerResponse, status: number, id: RequestId | null, code: number, message: string, data?: unknown): void {
  const body = JSON.stringify({ jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } });
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
}

