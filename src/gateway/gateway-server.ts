import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { META, sessionEraResult, sessionEraTool } from '../upstream/streamable-http/protocol-eras.js';
import type { JsonObject } from '../json-object.js';
import type { ListKind } from './catalog.js';
import type { Downstream } from './forwarding.js';
import { gatewayOperations, type GatewayOperations, type ToolCaller } from './gateway-operations.js';
import type { GatewayState } from './gateway-state.js';
import { askInBrowser } from './browser-prompts.js';
import type { Principal } from './principal.js';
import { logLevelOf } from './session-resume.js';
import { serverSink, type SessionListener } from './session-events.js';
import { serverRequestSender } from './upstream-requests.js';
import { VERSION } from '../version.js';

export type { ToolCaller } from './gateway-operations.js';

/**
 * The MCP server one /mcp session of a 2025 client (initialize, sessions) talks to: the tools, resources, resource
 * templates and prompts of every upstream this principal may use, behind one SDK Server whose handlers are the
 * gateway's operations (gateway-operations.ts). List changes, log messages and progress flow back to this session's
 * client.
 */

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A session's SDK server, and its tool-call pipeline for the direct path (direct-tool-calls.ts). */
export interface GatewaySession {
  server: Server;
  callTool: ToolCaller;
  /** Whether the session holds resource subscriptions, which live in memory only (an idle session keeps them). */
  keepsState(): boolean;
}

export function createGatewayServer(options: GatewaySessionOptions): Server {
  return createGatewaySession(options).server;
}

interface GatewaySessionOptions {
  principal: Principal;
  /** What the gateway's sessions share (gateway-state.ts). */
  gateway: GatewayState;
  /** Items per page of the merged lists (tests use small pages). */
  pageSize?: number;
}

/** The list requests of a session and the kind each lists. */
const LISTS = [
  [ListToolsRequestSchema, 'tools'],
  [ListPromptsRequestSchema, 'prompts'],
  [ListResourcesRequestSchema, 'resources'],
  [ListResourceTemplatesRequestSchema, 'resourceTemplates'],
] as const;

export function createGatewaySession({ principal: opener, gateway, pageSize }: GatewaySessionOptions): GatewaySession {
  // What the session reads of the principal that opened it, copied: an idle session then keeps neither the initialize
  // request's scope set nor its grant id.
  const principal = { userId: opener.userId, username: opener.username, groups: opener.groups, clientId: opener.clientId, virtualServer: opener.virtualServer };
  gateway.catalog.warm();
  const server = new Server(SERVER_INFO, { capabilities: CAPABILITIES, jsonSchemaValidator: new LazyAjvValidator() });
  const operations: GatewayOperations = gatewayOperations({
    principal,
    gateway,
    pageSize,
    ask: (prompt) => askInBrowser(prompt, server.getClientCapabilities()),
  });

  // 2025 answers carry no cache hints, nor a 2026-07-28 upstream's tool output schemas that 2025 cannot express.
  const listed = async (kind: ListKind, cursor: string | undefined) => {
    const { result } = await operations.list(kind, cursor);
    const tools = kind === 'tools' ? (result.tools as JsonObject[]) : undefined;
    return tools?.some((tool) => sessionEraTool(tool) !== tool) ? { ...result, tools: tools.map(sessionEraTool) } : result;
  };
  for (const [schema, kind] of LISTS) {
    server.setRequestHandler(schema as typeof ListToolsRequestSchema, async (request) => listed(kind, request.params?.cursor) as never);
  }
  // A 2026-07-28 upstream's answers reach this 2025 client without the keys of that revision.
  // Not async: the pipeline's promise, mapped (one async layer fewer per call).
  const callTool: ToolCaller = (params, downstream) => operations.callTool(params, downstream).then(sessionEraResult);
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => callTool(request.params, downstreamOf(request.params._meta, extra, server)));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) =>
    sessionEraResult((await operations.readResource(request.params, downstreamOf(request.params._meta, extra, server))).result),
  );
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) =>
    sessionEraResult(await operations.getPrompt(request.params, downstreamOf(request.params._meta, extra, server))),
  );
  server.setRequestHandler(CompleteRequestSchema, async (request, extra) =>
    sessionEraResult(await operations.complete(request.params, downstreamOf(request.params._meta, extra, server))),
  );

  // The listener holds the session's resource subscriptions: updates reach it, and end with it.
  const listener: SessionListener = { principal, sink: serverSink(server) };
  listener.sink.resourceUpdated = async (upstreamId, uri) => {
    if (gateway.subscriptions.holds(listener, upstreamId, uri)) await server.sendResourceUpdated({ uri });
  };
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    await operations.subscribe(listener, request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    await operations.unsubscribe(listener, request.params.uri);
    return {};
  });
  gateway.events.add(listener);
  server.onclose = () => {
    gateway.events.delete(listener);
    gateway.subscriptions.release(listener);
  };
  return { server, callTool, keepsState: () => gateway.subscriptions.holdsAny(listener) };
}

function downstreamOf(meta: { progressToken?: string | number } | undefined, extra: Extra, server: Server): Downstream {
  return {
    signal: extra.signal,
    progressToken: meta?.[META.progressToken],
    sendProgress: (progressToken, progress) => extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }),
    sendRequest: serverRequestSender((request, schema, options) => extra.sendRequest(request, schema, options), () => server.getClientCapabilities()),
    logLevel: logLevelOf(server, extra.sessionId),
  };
}

// Shared by every session's server (and server/discover), which keeps them by reference and never changes them; frozen so nothing can.
const SERVER_INFO = Object.freeze({ name: 'gatehouse', title: 'Gatehouse', version: VERSION });
const CAPABILITIES = Object.freeze({
  tools: Object.freeze({ listChanged: true }),
  resources: Object.freeze({ listChanged: true, subscribe: true }),
  prompts: Object.freeze({ listChanged: true }),
  logging: Object.freeze({}),
  completions: Object.freeze({}),
});

/**
 * The SDK server's validator of form elicitation answers (it validates only those of its own `elicitInput`, which
 * the gateway never calls). By default every server builds an Ajv with its formats up front, about 19 KB of heap
 * per session; this one builds it on first use, still one per server as before.
 */
class LazyAjvValidator implements jsonSchemaValidator {
  private ajv: AjvJsonSchemaValidator | undefined;

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    this.ajv ??= new AjvJsonSchemaValidator();
    return this.ajv.getValidator<T>(schema);
  }
}

