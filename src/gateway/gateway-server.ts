import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CompleteResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  type CallToolRequest,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { ToolPins, ToolStatus } from '../upstream/tool-pins.js';
import type { Upstream, UpstreamRegistry } from '../upstream/types.js';
import { DEFAULT_PAGE_SIZE, findTool, pageOf, type Catalog, type ListKind, type NamedKind } from './catalog.js';
import { availabilityOf, forwardRequest, forwardToolCall, JsonRpcError, type Downstream, type ForwardedCall } from './forwarding.js';
import { approvalRequired, approvalStep } from './call-approvals.js';
import type { GatewayState } from './gateway-state.js';
import { askToConnect, connectionFor, isPersonal, listOwn, requestConnection } from './personal-connections.js';
import { toolPermitted, upstreamVisibleTo } from './policy.js';
import type { Principal } from './principal.js';
import type { QuotaRefusal } from './quotas.js';
import type { GatewayLogger } from './session-events.js';
import type { ToolCallAudit } from './tool-call-audit.js';
import { virtualServerTools } from './virtual-servers.js';
import { hasUpstreamPrefix, NAME_SEPARATOR } from './tool-names.js';
import { serverRequestSender } from './upstream-requests.js';
import { VERSION } from '../version.js';

/**
 * The MCP server one /mcp session talks to: the tools, resources, resource templates and prompts of every
 * upstream this principal may use, behind one SDK Server. Lists come from the shared catalog; calls go to the
 * upstream that listed the item; list changes, log messages and progress flow back to this session's client.
 */

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** One `tools/call`, from its validated params to the result for the client; throws the JSON-RPC error to answer with. */
export type ToolCaller = (params: CallToolRequest['params'], downstream: Downstream) => Promise<CallToolResult>;

/** A session's SDK server, and its tool-call pipeline for the direct path (direct-tool-calls.ts). */
export interface GatewaySession {
  server: Server;
  callTool: ToolCaller;
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

export function createGatewaySession({ principal: opener, gateway, pageSize = DEFAULT_PAGE_SIZE }: GatewaySessionOptions): GatewaySession {
  const { registry, catalog, audit, personal, logger, pins, quotas } = gateway;
  // What the session reads of the principal that opened it, copied: an idle session then keeps neither the initialize
  // request's scope set nor its grant id.
  const principal: Caller = { userId: opener.userId, username: opener.username, groups: opener.groups, clientId: opener.clientId, virtualServer: opener.virtualServer };
  /** On a virtual server: the gateway tool names it shows (nothing else: no resources or prompts); undefined at /mcp. */
  const view = async () => (principal.virtualServer === undefined ? undefined : virtualServerTools(gateway.virtualServers, principal.virtualServer));
  catalog.warm();
  const server = new Server(SERVER_INFO, { capabilities: CAPABILITIES, jsonSchemaValidator: new LazyAjvValidator() });

  const visible = () => registry.all().filter((upstream) => upstreamVisibleTo(upstream.settings, principal));
  /**
   * Resources (and their templates) of a per-user upstream name what one account holds, so they are listed with the
   * principal's own connection, never from the shared listing made with some other user's; the rest from the catalog.
   */
  const merged = async <K extends ListKind>(kind: K) => {
    const upstreams = visible();
    if (principal.virtualServer !== undefined && kind !== 'tools') return [];
    if (kind !== 'resources' && kind !== 'resourceTemplates') return catalog.list(kind, upstreams);
    const personalOnes = upstreams.filter(isPersonal);
    const [shared, own] = await Promise.all([
      catalog.list(kind, upstreams.filter((upstream) => !isPersonal(upstream))),
      Promise.all(personalOnes.map((upstream) => listOwn(personal, principal, upstream, kind, logger))),
    ]);
    return [...shared, ...own.filter((entry) => entry !== undefined)];
  };
  const namesOf = async (kind: NamedKind) => {
    // Bare names depend on the lists of every unprefixed upstream, visible to this principal or not.
    await catalog.list(kind, unprefixed(registry));
    return catalog.names(kind);
  };

  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const lists = await merged('tools');
    const names = await namesOf('tools');
    // Approvals made through another replica count from this listing on.
    await pins.refresh(lists.map(({ upstream }) => upstream.id));
    const shown = await view();
    const tools = lists.flatMap(({ upstream, listed }) =>
      listed.items.flatMap((tool) => {
        const name = names.exposed(upstream.id, tool.name);
        // Only what a call resolves: a permitted tool with an exposed name, not withheld by its pin, in the view.
        const listable = name !== undefined && toolPermitted(upstream.settings, tool.name) && !pins.withheld(upstream, tool) && (shown?.has(name) ?? true);
        return listable ? [{ ...tool, name }] : [];
      }),
    );
    const { page, nextCursor } = pageOf('tools', tools, request.params?.cursor, pageSize);
    return { tools: page, ...(nextCursor ? { nextCursor } : {}) };
  });

  server.setRequestHandler(ListPromptsRequestSchema, async (request) => {
    const lists = await merged('prompts');
    const names = await namesOf('prompts');
    const prompts = lists.flatMap(({ upstream, listed }) =>
      listed.items.flatMap((prompt) => {
        const name = names.exposed(upstream.id, prompt.name);
        return name === undefined ? [] : [{ ...prompt, name }];
      }),
    );
    const { page, nextCursor } = pageOf('prompts', prompts, request.params?.cursor, pageSize);
    return { prompts: page, ...(nextCursor ? { nextCursor } : {}) };
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    const resources = (await merged('resources')).flatMap(({ listed }) => listed.items);
    const { page, nextCursor } = pageOf('resources', resources, request.params?.cursor, pageSize);
    return { resources: page, ...(nextCursor ? { nextCursor } : {}) };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request) => {
    const templates = (await merged('resourceTemplates')).flatMap(({ listed }) => listed.items);
    const { page, nextCursor } = pageOf('resourceTemplates', templates, request.params?.cursor, pageSize);
    return { resourceTemplates: page, ...(nextCursor ? { nextCursor } : {}) };
  });

  /**
   * Pipeline: resolve the name, check policy, the tool's pin and the quotas, forward, record, answer. Called by the SDK
   * server and by direct-tool-calls.ts.
   */
  const callTool: ToolCaller = async (params, downstream) => {
    const started = performance.now();
    const name = params.name;
    if ((await view())?.has(name) === false) throw new JsonRpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const target = await resolveTool(registry, catalog, visible, name);
    const entry = (upstream: Upstream, tool: string) => ({ principal, upstream, tool, args: params.arguments });
    const refuse = async (upstream: Upstream, tool: string, reason: string) =>
      record(audit, logger, { ...entry(upstream, tool), outcome: 'denied', error: reason, durationMs: performance.now() - started });
    if (target.kind === 'hidden') await refuse(target.upstream, target.original, 'not permitted for this user');
    if (target.kind !== 'found' && target.kind !== 'down') throw new JsonRpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    if (target.tool && (await awaitsApproval(pins, target.upstream, target.tool))) {
      await refuse(target.upstream, target.original, 'the tool definition awaits approval');
      return toolError(awaitingApprovalText(name, target.upstream, pins.status(target.upstream.id, target.tool)));
    }
    const overQuota = await quotas.take(target.upstream, target.original, principal.userId);
    if (overQuota) {
      gateway.metrics.rateLimited(target.upstream.settings.name, target.original);
      await refuse(target.upstream, target.original, `rate limit of the ${overQuota.scope} reached`);
      return { ...toolError(rateLimitedText(name, overQuota)), _meta: { 'gatehouse/retry_after_seconds': overQuota.retryAfterSeconds } };
    }
    const connection = await connectionFor(personal, principal, target.upstream);
    if ('connect' in connection) {
      await refuse(target.upstream, target.original, 'the user has not connected this upstream');
      return askToConnect(target.upstream, connection.connect, server.getClientCapabilities());
    }
    if (approvalRequired(target.upstream.settings, target.original, target.tool)) {
      const held = { userId: principal.userId, upstream: target.upstream, tool: target.original, exposedName: name, args: params.arguments };
      const hold = await approvalStep(gateway.approvals, held, server.getClientCapabilities());
      if (hold) {
        await refuse(target.upstream, target.original, hold.reason);
        return hold.answer();
      }
    }
    const forwarded: ForwardedCall = await forwardToolCall(target.upstream, target.original, params, downstream, connection);
    await record(audit, logger, { ...entry(target.upstream, target.original), outcome: forwarded.outcome, error: forwarded.error, durationMs: performance.now() - started });
    if ('relay' in forwarded) throw forwarded.relay;
    return forwarded.result;
  };

  server.setRequestHandler(CallToolRequestSchema, (request, extra) => callTool(request.params, downstreamOf(request.params._meta, extra, server)));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const uri = request.params.uri;
    const upstream = await resourceOwner(merged, uri);
    if (!upstream) throw new JsonRpcError(-32002, 'Resource not found', { uri });
    return forwardRequest(
      upstream,
      { method: 'resources/read', params: request.params },
      ReadResourceResultSchema,
      downstreamOf(request.params._meta, extra, server),
      await requestConnection(personal, principal, upstream),
    );
  });

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const target = await findPrompt(merged, namesOf, request.params.name);
    if (!target) throw new JsonRpcError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
    return forwardRequest(
      target.upstream,
      { method: 'prompts/get', params: { ...request.params, name: target.original } },
      GetPromptResultSchema,
      downstreamOf(request.params._meta, extra, server),
      await requestConnection(personal, principal, target.upstream),
    );
  });

  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    const { ref } = request.params;
    const target =
      ref.type === 'ref/prompt'
        ? await findPrompt(merged, namesOf, ref.name).then((found) => found && { upstream: found.upstream, ref: { ...ref, name: found.original } })
        : await templateOwner(merged, ref.uri).then((upstream) => upstream && { upstream, ref });
    const connection = target && (await requestConnection(personal, principal, target.upstream));
    // Nothing to complete from (unknown reference, or an upstream that offers no completions): no suggestions.
    if (!target || !connection || !('client' in connection) || !connection.client.getServerCapabilities()?.completions) {
      return { completion: { values: [] } };
    }
    return forwardRequest(
      target.upstream,
      { method: 'completion/complete', params: { ...request.params, ref: target.ref } },
      CompleteResultSchema,
      downstreamOf(request.params._meta, extra, server),
      connection,
    );
  });

  const listener = { server, principal };
  gateway.events.add(listener);
  server.onclose = () => gateway.events.delete(listener);
  return { server, callTool };
}

/** The principal as a session uses it: who records, who sees which upstreams, whose own connections. */
type Caller = Pick<Principal, 'userId' | 'username' | 'groups' | 'clientId' | 'virtualServer'>;

type Resolved =
  /** `tool`: the listed definition, absent for a tool of an upstream that is down and was never listed. */
  | { kind: 'found' | 'hidden' | 'down'; upstream: Upstream; original: string; tool?: Tool }
  | { kind: 'unknown' };

/**
 * The upstream and original name behind `name`, as this principal may see it. A name the cache does not know
 * is looked up again after listing (the cache may predate a list change); a name that can only belong to a
 * visible upstream that is down resolves to it, so the caller learns the upstream is unavailable.
 */
async function resolveTool(registry: UpstreamRegistry, catalog: Catalog, visible: () => Upstream[], name: string): Promise<Resolved> {
  let found = findTool(registry, catalog, name);
  if (!found) {
    await catalog.list('tools', [...visible(), ...unprefixed(registry)]);
    found = findTool(registry, catalog, name);
  }
  const permitted = (upstream: Upstream, original: string) =>
    visible().some((item) => item.id === upstream.id) && toolPermitted(upstream.settings, original);
  if (found) return { kind: permitted(found.upstream, found.original) ? 'found' : 'hidden', upstream: found.upstream, original: found.original, tool: found.tool };
  const down = visible().find((upstream) => hasUpstreamPrefix(name, upstream.settings.name) && 'unavailable' in availabilityOf(upstream));
  const original = down && name.slice(down.settings.name.length + NAME_SEPARATOR.length);
  if (down && original && permitted(down, original)) return { kind: 'down', upstream: down, original };
  return { kind: 'unknown' };
}

/**
 * Whether the tool is withheld by its pin. The verdict in memory decides a call that may go on; a refusal is checked
 * once more against the store, so an approval made through another replica takes effect at once.
 */
async function awaitsApproval(pins: ToolPins, upstream: Upstream, tool: Tool): Promise<boolean> {
  if (!pins.withheld(upstream, tool)) return false;
  await pins.refresh([upstream.id]);
  return pins.withheld(upstream, tool);
}

const toolError = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

function awaitingApprovalText(name: string, upstream: Upstream, status: ToolStatus): string {
  const why = status === 'changed' ? 'changed its definition since it was approved' : 'is new';
  return `Tool "${name}" of upstream "${upstream.settings.name}" ${why} and awaits approval by a Gatehouse administrator; it cannot be called until then.`;
}

function rateLimitedText(name: string, refusal: QuotaRefusal): string {
  const { calls, per_seconds } = refusal.limit;
  const what = refusal.scope === 'tool' ? `tool "${name}"` : 'its upstream';
  return `Rate limit reached: ${calls} calls per ${per_seconds} s to ${what}. Retry after ${refusal.retryAfterSeconds} seconds (Retry-After: ${refusal.retryAfterSeconds}).`;
}

type Merged = <K extends ListKind>(kind: K) => ReturnType<Catalog['list']>;

const unprefixed = (registry: UpstreamRegistry) => registry.all().filter((upstream) => upstream.settings.tool_name_prefix === false);

async function findPrompt(
  merged: Merged,
  namesOf: (kind: NamedKind) => Promise<ReturnType<Catalog['names']>>,
  name: string,
): Promise<{ upstream: Upstream; original: string } | undefined> {
  const lists = await merged('prompts');
  const owner = (await namesOf('prompts')).resolve(name);
  const upstream = owner && lists.find((item) => item.upstream.id === owner.upstreamId)?.upstream;
  return upstream && owner ? { upstream, original: owner.original } : undefined;
}

/** The upstream that listed `uri`, or else the first whose resource template matches it. */
async function resourceOwner(merged: Merged, uri: string): Promise<Upstream | undefined> {
  for (const { upstream, listed } of await merged('resources')) {
    if ((listed.items as Array<{ uri: string }>).some((resource) => resource.uri === uri)) return upstream;
  }
  for (const { upstream, listed } of await merged('resourceTemplates')) {
    if ((listed.items as Array<{ uriTemplate: string }>).some((template) => matches(template.uriTemplate, uri))) return upstream;
  }
  return undefined;
}

async function templateOwner(merged: Merged, uriTemplate: string): Promise<Upstream | undefined> {
  for (const { upstream, listed } of await merged('resourceTemplates')) {
    if ((listed.items as Array<{ uriTemplate: string }>).some((template) => template.uriTemplate === uriTemplate)) return upstream;
  }
  return undefined;
}

function matches(uriTemplate: string, uri: string): boolean {
  try {
    return new UriTemplate(uriTemplate).match(uri) !== null;
  } catch {
    return false;
  }
}

function downstreamOf(meta: { progressToken?: string | number } | undefined, extra: Extra, server: Server): Downstream {
  return {
    signal: extra.signal,
    progressToken: meta?.progressToken,
    sendProgress: (progressToken, progress) => extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }),
    sendRequest: serverRequestSender((request, schema, options) => extra.sendRequest(request, schema, options), () => server.getClientCapabilities()),
  };
}

/** Records one call; a failing audit store is logged, never turned into a failed call. */
async function record(audit: ToolCallAudit, logger: GatewayLogger, entry: Parameters<ToolCallAudit['record']>[0]): Promise<void> {
  try {
    await audit.record(entry);
  } catch (error) {
    logger.warn({ error: String(error), upstream: entry.upstream.settings.name, tool: entry.tool }, 'recording a tool call failed');
  }
}

// Shared by every session's server, which keeps them by reference and never changes them; frozen so nothing can.
const SERVER_INFO = Object.freeze({ name: 'gatehouse', title: 'Gatehouse', version: VERSION });
const CAPABILITIES = Object.freeze({
  tools: Object.freeze({ listChanged: true }),
  resources: Object.freeze({ listChanged: true }),
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

