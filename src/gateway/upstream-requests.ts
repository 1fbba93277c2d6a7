import { getSupportedElicitationModes } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  ErrorCode,
  McpError,
  type ClientCapabilities,
  type Result,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcError, type Downstream } from './forwarding.js';

/**
 * The gateway's side of relaying an upstream's own requests (sampling, elicitation; the upstream's side, and the
 * whole way, is upstream/streamable-http/server-requests.ts): sent on to the downstream client whose request the
 * upstream is serving, on that request's stream (the SDK sends `extra.sendRequest` with the downstream request's id
 * as the related one). What the client did not declare it can do is refused here, as the client itself would refuse it.
 */

/** The schemas a relayed request's result is checked against. */
export type RelayedResultSchema = typeof CreateMessageResultSchema | typeof CreateMessageResultWithToolsSchema | typeof ElicitResultSchema;

/** Sends a request to the downstream client on the stream of the request being served (the SDK's `extra.sendRequest`, or direct-tool-calls.ts). */
export type SendToClient = (request: ServerRequest, schema: RelayedResultSchema, options: RequestOptions) => Promise<Result>;

const MCP_ERROR_PREFIX = /^MCP error -?\d+: /;

export function serverRequestSender(send: SendToClient, clientCapabilities: () => ClientCapabilities | undefined): Downstream['sendRequest'] {
  return async (request, options) => {
    const { schema, params } = admitted(request.method, request.params, clientCapabilities());
    try {
      return await send({ method: request.method, params } as ServerRequest, schema, options);
    } catch (error) {
      // The client's own answer goes back as it was given, without the SDK's "MCP error <code>: " prefix.
      if (error instanceof McpError) throw new JsonRpcError(error.code, error.message.replace(MCP_ERROR_PREFIX, ''), error.data);
      throw error;
    }
  };
}

function admitted(method: string, params: Record<string, unknown>, capabilities: ClientCapabilities | undefined) {
  if (method === 'sampling/createMessage') {
    const withTools = params.tools !== undefined || params.toolChoice !== undefined;
    if (!capabilities?.sampling) throw refused('sampling', { sampling: {} });
    if (withTools && !capabilities.sampling.tools) throw refused('sampling with tools', { sampling: { tools: {} } });
    // The client's context is that of every upstream behind the gateway, not only this one's: it is never offered.
    const { includeContext: _context, ...rest } = params;
    return { schema: withTools ? CreateMessageResultWithToolsSchema : CreateMessageResultSchema, params: rest };
  }
  if (method === 'elicitation/create') {
    const { supportsFormMode, supportsUrlMode } = getSupportedElicitationModes(capabilities?.elicitation);
    const mode = params.mode === 'url' ? 'url' : 'form';
    if (mode === 'url' ? !supportsUrlMode : !supportsFormMode) throw refused(`${mode === 'url' ? 'URL' : 'form'}-mode elicitation`, { elicitation: { [mode]: {} } });
    return { schema: ElicitResultSchema, params };
  }
  throw new JsonRpcError(ErrorCode.MethodNotFound, `The gateway does not relay ${method}`);
}

/**
 * An input request of a 2026-07-28 upstream's `input_required` result, as it is passed on to a 2026-07-28 client: the
 * same admission as a relayed request, and `roots/list` too when the client declared roots (it answers that one
 * from its own roots; Gatehouse asks it only for the upstream that wants them).
 */
export function admittedInputRequest(method: string, params: Record<string, unknown>, capabilities: ClientCapabilities): Record<string, unknown> {
  if (method !== 'roots/list') return admitted(method, params, capabilities).params;
  if (!capabilities.roots) throw refused('roots', { roots: {} });
  return params;
}

/**
 * An upstream's request the client did not declare it can take: refused to the upstream as the client itself would
 * (method not found); `required` names the capability, for a 2026-07-28 client's MissingRequiredClientCapability error.
 */
export class ClientLacksCapability extends JsonRpcError {
  constructor(
    what: string,
    readonly required: ClientCapabilities,
  ) {
    super(ErrorCode.MethodNotFound, `The client of this session does not support ${what}`);
  }
}

const refused = (what: string, required: ClientCapabilities) => new ClientLacksCapability(what, required);
