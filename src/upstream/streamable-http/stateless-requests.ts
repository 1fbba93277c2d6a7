import { ErrorCode, McpError, type Progress, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { DirectRequests } from './direct-requests.js';
import { RELAYED_CAPABILITIES, type ServerRequestRelay } from './server-requests.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';

/**
 * What a stateless (2026-07-28) upstream needs beyond one request on the direct path:
 * - Multi round-trip requests (basic/patterns/mrtr), in one of two ways:
 *   - relayed (a 2025 client): an `input_required` result lists the upstream's input requests (sampling,
 *     elicitation); each goes to the caller's relay, the same one the session era's server-to-client requests go to
 *     (gateway/upstream-requests.ts sends it to the downstream client on its request's stream), and the original
 *     request is sent again, with a new id, the answers in `inputResponses` and `requestState` echoed exactly;
 *   - passed on (a 2026-07-28 client, `InputPassThrough`): one round per request; the `input_required` result goes
 *     back to the caller as `UpstreamInputRequired`, and the client's retry brings its answers and the upstream's
 *     state, which are sent with the request as they came.
 * - Log messages (server/utilities/logging): asked for per request, with the level in `_meta`.
 * Change notifications come on the connection's one `subscriptions/listen` stream (listen-stream.ts).
 */

/** Rounds of input a request may take before Gatehouse gives up on it (an upstream that asks forever). */
const MAX_INPUT_ROUNDS = 10;
/** Only these input requests are relayed; Gatehouse declares no roots. */
const RELAYED_INPUTS = new Set(['sampling/createMessage', 'elicitation/create']);


export interface StatelessRequestOptions {
  signal: AbortSignal;
  timeoutMs: number;
  onProgress?: (progress: Progress) => void;
  /** Where input requests go; absent: none is declared possible, and an input request fails the request. */
  onServerRequest?: ServerRequestRelay;
  /** The level of the log messages wanted for this request; absent: none. */
  logLevel?: string;
  /** Set: input requests are not relayed but passed on to the caller (and `onServerRequest` is not used). */
  passInput?: InputPassThrough;
  /** The `Mcp-Param-*` headers of a `tools/call`, the same on every round (its arguments do not change). */
  paramHeaders?: Record<string, string>;
}

/** A caller that answers an upstream's `input_required` results itself, in requests of its own (a 2026-07-28 client). */
export interface InputPassThrough {
  /** The capabilities the upstream is told of (the client's own, of those it can answer). */
  clientCapabilities: JsonObject;
  /** A retry's answers (`InputResponses`), sent as they came. */
  inputResponses?: JsonObject;
  /** The upstream's `requestState` that the retry continues, exactly as the upstream gave it. */
  requestState?: string;
}

/** An upstream's `input_required` result, for a caller that passes it on (`InputPassThrough`). */
export class UpstreamInputRequired extends Error {
  constructor(
    readonly inputRequests: JsonObject | undefined,
    readonly requestState: string | undefined,
  ) {
    super('the upstream requires input');
  }
}

/** Stateless upstreams send no requests on a response stream (they ask for input in results): one that does is refused. */
export const refuse: ServerRequestRelay = async () => {
  throw new McpError(ErrorCode.InvalidRequest, 'a stateless upstream sends no requests on a response stream');
};

/** The answers to one round's input requests, in the `InputResponses` shape (key → the client's result). */
async function answerInputs(inputRequests: unknown, relay: ServerRequestRelay, signal: AbortSignal): Promise<JsonObject> {
  const answers: JsonObject = {};
  for (const [key, request] of Object.entries(isJsonObject(inputRequests) ? inputRequests : {})) {
    const method = isJsonObject(request) ? request.method : undefined;
    if (typeof method !== 'string' || !RELAYED_INPUTS.has(method)) {
      throw new McpError(ErrorCode.InvalidRequest, `the upstream asked for input Gatehouse did not offer (${String(method)})`);
    }
    const params = isJsonObject(request) && isJsonObject(request.params) ? request.params : {};
    answers[key] = await relay({ method, params }, signal);
  }
  return answers;
}

/** One request to a stateless upstream, carried through as many input rounds as it takes (MRTR "Client Requirements"). */
export async function requestStateless(direct: DirectRequests, message: { method: string; params?: JsonObject }, options: StatelessRequestOptions): Promise<Result> {
  const { signal, timeoutMs, onProgress, onServerRequest, passInput, paramHeaders, logLevel } = options;
  if (passInput) return passingInput(direct, message, options, passInput);
  // Capabilities relevant to this request (basic/index): sampling and elicitation only when someone can answer them.
  const clientCapabilities = onServerRequest ? RELAYED_CAPABILITIES : {};
  let params = message.params;
  for (let round = 0; ; round++) {
    const result = await direct.request({ method: message.method, params }, { signal, timeoutMs, onProgress, onServerRequest: refuse, clientCapabilities, paramHeaders, logLevel });
    if (result.resultType !== 'input_required') return result;
    if (!onServerRequest) throw new McpError(ErrorCode.InvalidRequest, `the upstream asked for input on ${message.method}, which has no client to answer it`);
    if (round + 1 >= MAX_INPUT_ROUNDS) throw new McpError(ErrorCode.InternalError, `the upstream asked for input more than ${MAX_INPUT_ROUNDS} times`);
    const inputResponses = await answerInputs(result.inputRequests, onServerRequest, signal);
    // The original parameters, the answers, and the state exactly as it came; never carried to another request.
    params = { ...message.params, inputResponses, ...(typeof result.requestState === 'string' ? { requestState: result.requestState } : {}) };
  }
}

/** One round of `message`, with the caller's answers and the upstream's state; an `input_required` result is thrown. */
async function passingInput(direct: DirectRequests, message: { method: string; params?: JsonObject }, options: StatelessRequestOptions, passInput: InputPassThrough): Promise<Result> {
  const { inputResponses, requestState, clientCapabilities } = passInput;
  const params = { ...message.params, ...(inputResponses === undefined ? {} : { inputResponses }), ...(requestState === undefined ? {} : { requestState }) };
  const { signal, timeoutMs, onProgress, paramHeaders } = options;
  const result = await direct.request({ method: message.method, params }, { signal, timeoutMs, onProgress, onServerRequest: refuse, clientCapabilities, paramHeaders });
  if (result.resultType !== 'input_required') return result;
  throw new UpstreamInputRequired(isJsonObject(result.inputRequests) ? result.inputRequests : undefined, typeof result.requestState === 'string' ? result.requestState : undefined);
}
