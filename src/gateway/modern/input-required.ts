import { createHash } from 'node:crypto';
import { ErrorCode, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { DecryptionError, open, seal } from '../../crypto/aead.js';
import { newId } from '../../crypto/random.js';
import { isJsonObject } from '../../json-object.js';
import type { UpstreamInputRequired } from '../../upstream/streamable-http/stateless-requests.js';
import { canonicalJson } from '../../upstream/tool-definitions.js';
import { JsonRpcError } from '../forwarding.js';
import { askInBrowser, type AskInBrowser } from '../browser-prompts.js';
import type { Principal } from '../principal.js';
import { admittedInputRequest, ClientLacksCapability } from '../upstream-requests.js';
import { MISSING_CLIENT_CAPABILITY } from './request-metadata.js';

/**
 * Multi round-trip requests of MCP 2026-07-28 (basic/patterns/mrtr) where Gatehouse itself needs the client: a user who
 * has not connected a per-user upstream is asked to, by an `input_required` result holding a URL-mode elicitation
 * (what a 2025 client gets as error -32042); a 2026-07-28 upstream's own `input_required` result is passed on, its
 * input requests under the upstream's keys. What Gatehouse must know when the client retries (the upstream's own
 * `requestState` among it) travels in `requestState`, sealed with the project's AEAD and bound to the user, the
 * endpoint (`/mcp` or a virtual server's), the caller's credential (its OAuth client or API key) and the request
 * (method, exposed name, arguments: a retry repeats the request, and continues a call only with the arguments it
 * started with): a client can neither read it, change it, nor carry it to another user, endpoint, client or request.
 * A retry with a state that does not open, or that belongs elsewhere, is refused.
 */

/** The input request's key in `inputRequests` and `inputResponses`. */
export const BROWSER_INPUT = 'gatehouse/browser';
/** How long a retry may come after the question: the lifetime of the connect flow it links to (an approval's is shorter). */
export const REQUEST_STATE_TTL_MS = 15 * 60 * 1000;

const StateSchema = z.object({
  v: z.literal(2),
  method: z.string(),
  name: z.string(),
  /** The digest of the request's `arguments` (`argumentsDigest`): a retry repeats the request, so it must repeat them. */
  args: z.string(),
  /** Where the request came (`endpointOf`) and with which credential (`credentialOf`). */
  endpoint: z.string(),
  credential: z.string(),
  /** A browser step: the upstream the person was asked about (to connect it, to approve a call to it). */
  upstreamId: z.string().optional(),
  /** A parked call (call-runs.ts), the key of the question it waits on, and the replica holding it (fleet-call-runs.ts). */
  run: z.string().optional(),
  key: z.string().optional(),
  replica: z.string().optional(),
  /**
   * A 2026-07-28 upstream's `input_required` result passed on: the upstream's own state, as it gave it, and a random
   * `once` that lets one retry continue a call held for approval without asking again (stateless-requests.ts).
   */
  passed: z.object({ requestState: z.string().optional(), once: z.string() }).optional(),
  issuedAt: z.number(),
});
/** What a state records of the step it continues. */
export type StateStep = { upstreamId: string } | { run: string; key: string; replica: string } | { passed: { requestState?: string; once: string } };
export type GatewayRequestState = z.infer<typeof StateSchema>;

/** Thrown by a request that must ask the client first; answered as the `input_required` result it holds. */
export class InputRequired extends Error {
  constructor(readonly result: { inputRequests: Record<string, unknown>; requestState: string }) {
    super('input required');
  }
}

/** The request a state belongs to, and the sealing key. */
export interface RequestStateContext {
  key: Buffer;
  userId: string;
  /** `endpointOf` the caller. */
  endpoint: string;
  /** `credentialOf` the caller. */
  credential: string;
  method: string;
  name: string;
  /** The request's `arguments` (`argumentsDigest`). */
  args: string;
  now?: () => number;
}

/** A digest of a request's `arguments`, the same for the same arguments in any key order. */
export const argumentsDigest = (args: unknown): string => createHash('sha256').update(canonicalJson(args ?? {})).digest('base64url');

/** The endpoint a request came to: `/mcp`, or a virtual server's `/mcp/{name}`. */
export const endpointOf = (principal: Pick<Principal, 'virtualServer'>): string => (principal.virtualServer === undefined ? '/mcp' : `/mcp/${principal.virtualServer}`);

/** The credential a request came with: the OAuth client its token was issued to, or the API key. */
export const credentialOf = (principal: Pick<Principal, 'via' | 'clientId' | 'apiKeyId'>): string =>
  principal.via === 'api_key' ? `api_key ${principal.apiKeyId ?? ''}` : `client ${principal.clientId ?? ''}`;

const aad = (userId: string) => `mcp request state v2 ${userId}`;

export function sealRequestState({ key, userId, endpoint, credential, method, name, args, now = Date.now }: RequestStateContext, step: StateStep): string {
  const state: GatewayRequestState = { v: 2, method, name, args, endpoint, credential, ...step, issuedAt: now() };
  return seal(key, JSON.stringify(state), aad(userId));
}

/**
 * The state of a retry of this request; refused (-32602) when it was changed, is another user's, came through another
 * endpoint or credential, belongs to another request or other arguments, or is stale.
 */
export function openRequestState({ key, userId, endpoint, credential, method, name, args, now = Date.now }: RequestStateContext, sealed: string): GatewayRequestState {
  let state: GatewayRequestState;
  try {
    state = StateSchema.parse(JSON.parse(open(key, sealed, aad(userId))));
  } catch (error) {
    if (error instanceof DecryptionError || error instanceof SyntaxError || error instanceof z.ZodError) throw invalidState('it was not issued by Gatehouse to this user');
    throw error;
  }
  if (state.endpoint !== endpoint) throw invalidState(`it was issued at ${state.endpoint}, not at ${endpoint}`);
  if (state.credential !== credential) throw invalidState('it was issued to another client or API key');
  if (state.method !== method || state.name !== name) throw invalidState('it belongs to another request');
  if (state.args !== args) throw invalidState('it was issued for other arguments; a retry repeats the request');
  if (now() - state.issuedAt > REQUEST_STATE_TTL_MS) throw invalidState('it has expired; send the request again without it');
  return state;
}

const invalidState = (why: string) => new JsonRpcError(ErrorCode.InvalidParams, `Invalid params: requestState is not valid (${why})`);

/**
 * How a 2026-07-28 client is asked in a browser (to connect an account, to approve a call): an `input_required` result
 * holding a URL elicitation when it declared URL-mode elicitation, else the link in an error result, as for a 2025
 * client without it.
 */
export function browserStep(context: RequestStateContext, clientCapabilities: ClientCapabilities): AskInBrowser {
  return (prompt) => {
    if (!clientCapabilities.elicitation?.url) return askInBrowser(prompt, undefined);
    const { message, url, elicitationId } = prompt;
    throw new InputRequired({
      inputRequests: { [BROWSER_INPUT]: { method: 'elicitation/create', params: { mode: 'url', message, url, elicitationId } } },
      requestState: sealRequestState(context, { upstreamId: prompt.upstreamId }),
    });
  };
}

/**
 * A 2026-07-28 upstream's `input_required` result for the client: its input requests under their own keys, each
 * admitted as a relayed request is (a capability the client did not declare ends the request with -32021), and the
 * upstream's state sealed into Gatehouse's.
 */
export function passedOn(context: RequestStateContext, asked: UpstreamInputRequired, clientCapabilities: ClientCapabilities): InputRequired {
  const inputRequests: Record<string, unknown> = {};
  for (const [key, request] of Object.entries(asked.inputRequests ?? {})) {
    const { method, params = {} } = (request ?? {}) as { method?: unknown; params?: unknown };
    if (typeof method !== 'string' || !isJsonObject(params)) {
      throw new JsonRpcError(ErrorCode.InternalError, 'The upstream asked for input in a form Gatehouse cannot pass on');
    }
    try {
      inputRequests[key] = { method, params: admittedInputRequest(method, params, clientCapabilities) };
    } catch (error) {
      throw error instanceof ClientLacksCapability ? missingCapability(error.required) : error;
    }
  }
  const passed = { once: newId('once'), ...(asked.requestState === undefined ? {} : { requestState: asked.requestState }) };
  const requestState = sealRequestState(context, { passed });
  return new InputRequired({ inputRequests, requestState });
}

export const missingCapability = (required: ClientCapabilities) =>
  new JsonRpcError(MISSING_CLIENT_CAPABILITY, 'The request needs a capability the client did not declare', { requiredCapabilities: required });

/** Whether the client's answer to the browser question was no (declined or cancelled). */
export function declinedInBrowser(inputResponses: unknown): boolean {
  const answer = (inputResponses as Record<string, { action?: unknown } | undefined> | undefined)?.[BROWSER_INPUT];
  return answer?.action === 'decline' || answer?.action === 'cancel';
}
