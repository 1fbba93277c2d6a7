import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  CompleteResultSchema,
  ErrorCode,
  GetPromptResultSchema,
  ReadResourceResultSchema,
  type CallToolRequest,
  type CallToolResult,
  type CompleteRequest,
  type CompleteResult,
  type GetPromptRequest,
  type GetPromptResult,
  type ReadResourceRequest,
  type ReadResourceResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolPins, ToolStatus } from '../upstream/tool-pins.js';
import { connectsPerUser, type Upstream, type UpstreamRegistry } from '../upstream/types.js';
import { approvalRequired, approvalStep } from './call-approvals.js';
import { answerHint, hintOfResult, type CacheHint } from './cache-hints.js';
import { DEFAULT_PAGE_SIZE, findTool, pageOf, type Catalog, type ListKind, type NamedKind } from './catalog.js';
import { availabilityOf, forwardRequest, forwardToolCall, JsonRpcError, type Downstream, type ForwardedCall, type UpstreamAvailability } from './forwarding.js';
import type { GatewayState } from './gateway-state.js';
import type { AskInBrowser } from './browser-prompts.js';
import { connectionFor, connectPrompt, listOwn, requestConnection } from './personal-connections.js';
import { toolPermitted, upstreamVisibleTo } from './policy.js';
import type { Principal } from './principal.js';
import { hasQuota, type QuotaRefusal } from './quotas.js';
import { byUpstreamName, ownedItems } from './resource-owners.js';
import type { SubscriptionHolder } from './resource-subscriptions.js';
import type { GatewayLogger } from './session-events.js';
import type { ToolCallAudit } from './tool-call-audit.js';
import { hasUpstreamPrefix, NAME_SEPARATOR } from './tool-names.js';
import { virtualServerTools } from './virtual-servers.js';

/**
 * What the gateway does for one principal's request, whichever protocol era carried it: merged lists, tool calls
 * (resolve, policy, pin, quota, forward, audit), reads, prompts and completions. A 2025 session's SDK server
 * (gateway-server.ts) and a 2026-07-28 stateless request (modern/stateless-requests.ts) both call these; each era only
 * shapes the answer (cache hints, `resultType`, error numbers) and carries what goes to the client.
 */

/** One `tools/call`, from its validated params to the result for the client; throws the JSON-RPC error to answer with. */
export type ToolCaller = (params: CallToolRequest['params'], downstream: Downstream) => Promise<CallToolResult>;

/** A list page as the client receives it, with the cache hint of the upstream lists it was made from. */
export interface ListAnswer {
  result: Record<string, unknown> & { nextCursor?: string };
  hint: CacheHint;
}

export interface GatewayOperations {
  list(kind: ListKind, cursor: string | undefined): Promise<ListAnswer>;
  callTool: ToolCaller;
  readResource(params: ReadResourceRequest['params'], downstream: Downstream): Promise<{ result: ReadResourceResult; hint: CacheHint }>;
  getPrompt(params: GetPromptRequest['params'], downstream: Downstream): Promise<GetPromptResult>;
  complete(params: CompleteRequest['params'], downstream: Downstream): Promise<CompleteResult>;
  /** Subscribes `holder` (a session's or stream's listener) to updates of the resource `uri` at the upstream offering it. */
  subscribe(holder: SubscriptionHolder, uri: string): Promise<void>;
  unsubscribe(holder: SubscriptionHolder, uri: string): Promise<void>;
}

/**
 * What a resource that nobody offers is answered with before 2026-07-28 (-32002, server/resources "Error Handling");
 * 2026-07-28 renumbers it -32602 (changelog, minor change 6), which modern/stateless-requests.ts does for its clients.
 */
export const RESOURCE_NOT_FOUND = -32002;

/**
 * An upstream's "resource not found" to a `resources/read` in its own revision's number: -32602 from a 2026-07-28
 * upstream (the request reached it with valid params, checked against the method's schema here, so its Invalid Params
 * refuses the URI), -32002 from a 2025 one. Answered as the gateway's own not found, whose number is the client's
 * revision's (-32002 to a 2025 client, -32602 to a 2026-07-28 one, modern/stateless-requests.ts) and whose `data`
 * names the `uri`, as both revisions' examples do (server/resources, "Error Handling").
 */
function isNotFoundOfItsEra(error: unknown, connection: UpstreamAvailability): error is JsonRpcError {
  if (!(error instanceof JsonRpcError) || !('client' in connection)) return false;
  return error.code === (connection.client.protocol().era === 'stateless' ? ErrorCode.InvalidParams : RESOURCE_NOT_FOUND);
}

export interface GatewayOperationsOptions {
  principal: Pick<Principal, 'userId' | 'username' | 'groups' | 'clientId' | 'virtualServer'>;
  gateway: GatewayState;
  /** How this era asks the person in a browser: to connect an upstream account, to approve a call. */
  ask: AskInBrowser;
  /** Items per page of the merged lists (tests use small pages). */
  pageSize?: number;
}

export function gatewayOperations({ principal, gateway, ask, pageSize = DEFAULT_PAGE_SIZE }: GatewayOperationsOptions): GatewayOperations {
  const { registry, catalog, audit, personal, logger, pins, quotas } = gateway;
  const isVisible = (upstream: Upstream) => upstreamVisibleTo(upstream.settings, principal);
  const visible = () => registry.all().filter(isVisible);
  /** On a virtual server: the gateway tool names it shows (nothing else: no resources or prompts); undefined at /mcp. */
  const view = async () => (principal.virtualServer === undefined ? undefined : virtualServerTools(gateway.virtualServers, principal.virtualServer));
  /**
   * Resources (and their templates) of a per-user upstream name what one account holds, so they are listed with the
   * principal's own connection, never from the shared listing made with some other user's; the rest from the catalog.
   */
  const merged: Merged = async (kind) => {
    const upstreams = visible();
    if (principal.virtualServer !== undefined && kind !== 'tools') return [];
    if (kind !== 'resources' && kind !== 'resourceTemplates') return catalog.list(kind, upstreams);
    const personalOnes = upstreams.filter((upstream) => connectsPerUser(upstream.settings));
    const [shared, own] = await Promise.all([
      catalog.list(kind, upstreams.filter((upstream) => !connectsPerUser(upstream.settings))),
      Promise.all(personalOnes.map((upstream) => listOwn(personal, principal, upstream, kind, logger))),
    ]);
    // In the order that decides which upstream serves a URI that several list (resource-owners.ts).
    return byUpstreamName([...shared, ...own.filter((entry) => entry !== undefined)]);
  };
  const namesOf = async (kind: NamedKind) => {
    // Bare names depend on the lists of every unprefixed upstream, visible to this principal or not.
    await catalog.list(kind, unprefixed(registry));
    return catalog.names(kind);
  };

  /** Each kind's items as the client sees them: tools and prompts under their exposed names, tools only when callable. */
  const exposedItems = async (kind: ListKind, lists: Awaited<ReturnType<Merged>>): Promise<unknown[]> => {
    if (kind === 'resources' || kind === 'resourceTemplates') {
      const { items, shadowed } = ownedItems(kind, lists);
      if (shadowed.length > 0) gateway.shadowedResources(shadowed);
      return items;
    }
    const names = await namesOf(kind);
    // Approvals made through another replica count from this listing on.
    if (kind === 'tools') await pins.refresh(lists.map(({ upstream }) => upstream.id));
    const shown = kind === 'tools' ? await view() : undefined;
    return lists.flatMap(({ upstream, listed }) =>
      (listed.items as Array<{ name: string }>).flatMap((item) => {
        const name = names.exposed(upstream.id, item.name);
        if (name === undefined) return [];
        // Only what a call resolves: a permitted tool with an exposed name, not withheld by its pin, in the view.
        if (kind === 'tools' && !(toolPermitted(upstream.settings, item.name) && !pins.withheld(upstream, item as Tool) && (shown?.has(name) ?? true))) return [];
        return [{ ...item, name }];
      }),
    );
  };

  const list = async (kind: ListKind, cursor: string | undefined): Promise<ListAnswer> => {
    const lists = await merged(kind);
    const { page, nextCursor } = pageOf(kind, await exposedItems(kind, lists), cursor, pageSize);
    return {
      result: { [kind]: page, ...(nextCursor ? { nextCursor } : {}) },
      hint: answerHint(registry.all(), lists.map(({ listed }) => listed.hint ?? hintOfResult(undefined))),
    };
  };

  /** Pipeline: resolve the name, check policy, the tool's pin, the quotas and the approval, forward, record, answer. */
  /** A name the cache does not know, looked up again after listing (the cache may predate a list change). */
  const findListedTool = async (name: string) => {
    await catalog.list('tools', [...visible(), ...unprefixed(registry)]);
    return findTool(registry, catalog, name);
  };

  /** A refused call's audit row; made once per session, not as a closure of every call. */
  const refuse = (upstream: Upstream, tool: string, args: unknown, started: number, reason: string) =>
    record(audit, logger, { principal, upstream, tool, args, outcome: 'denied', error: reason, durationMs: performance.now() - started });

  // The common call awaits only what it must (the upstream, the audit queue): each await of an async step costs
  // promises and turns of the microtask queue, on every call (bench/README.md).
  const callTool: ToolCaller = async (params, downstream) => {
    const started = performance.now();
    const name = params.name;
    if (principal.virtualServer !== undefined && (await view())?.has(name) === false) throw new JsonRpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const target = resolveTool(visible, isVisible, name, findTool(registry, catalog, name) ?? (await findListedTool(name)));
    if (target.kind === 'hidden') await refuse(target.upstream, target.original, params.arguments, started, 'not permitted for this user');
    if (target.kind !== 'found' && target.kind !== 'down') throw new JsonRpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    if (target.tool && pins.withheld(target.upstream, target.tool) && (await withheldAfterRefresh(pins, target.upstream, target.tool))) {
      await refuse(target.upstream, target.original, params.arguments, started, 'the tool definition awaits approval');
      return toolError(awaitingApprovalText(name, target.upstream, pins.status(target.upstream.id, target.tool)));
    }
    const overQuota = hasQuota(target.upstream.settings, target.original) ? await quotas.take(target.upstream, target.original, principal.userId) : undefined;
    if (overQuota) {
      gateway.metrics.rateLimited(target.upstream.settings.name, target.original);
      await refuse(target.upstream, target.original, params.arguments, started, `rate limit of the ${overQuota.scope} reached`);
      return { ...toolError(rateLimitedText(name, overQuota)), _meta: { 'gatehouse/retry_after_seconds': overQuota.retryAfterSeconds } };
    }
    const connection = connectsPerUser(target.upstream.settings) ? await connectionFor(personal, principal, target.upstream) : availabilityOf(target.upstream);
    if ('connect' in connection) {
      await refuse(target.upstream, target.original, params.arguments, started, 'the user has not connected this upstream');
      return ask(connectPrompt(target.upstream, connection.connect));
    }
    // The approval of a call holds for the rounds of input its upstream asks for afterwards (modern/input-required.ts),
    // each round's state once.
    if (approvalRequired(target.upstream.settings, target.original, target.tool) && !(await downstream.continuesCall?.())) {
      const held = { userId: principal.userId, upstream: target.upstream, tool: target.original, exposedName: name, args: params.arguments };
      const hold = await approvalStep(gateway.approvals, held, ask);
      if (hold) {
        await refuse(target.upstream, target.original, params.arguments, started, hold.reason);
        return hold.answer();
      }
    }
    const forwarded: ForwardedCall = await forwardToolCall(target.upstream, target.original, params, downstream, connection);
    const durationMs = performance.now() - started;
    await record(audit, logger, { principal, upstream: target.upstream, tool: target.original, args: params.arguments, outcome: forwarded.outcome, error: forwarded.error, durationMs });
    if ('relay' in forwarded) throw forwarded.relay;
    if ('inputRequired' in forwarded) throw forwarded.inputRequired;
    return forwarded.result;
  };

  return {
    list,
    callTool,
    async subscribe(holder, uri) {
      const upstream = await resourceOwner(merged, uri);
      if (!upstream) throw new JsonRpcError(RESOURCE_NOT_FOUND, 'Resource not found', { uri });
      await gateway.subscriptions.subscribe(holder, upstream, uri);
    },
    unsubscribe: async (holder, uri) => gateway.subscriptions.unsubscribe(holder, uri),
    async readResource(params, downstream) {
      const upstream = await resourceOwner(merged, params.uri);
      if (!upstream) throw new JsonRpcError(RESOURCE_NOT_FOUND, 'Resource not found', { uri: params.uri });
      const connection = await requestConnection(personal, principal, upstream);
      const result = await forwardRequest(upstream, { method: 'resources/read', params }, ReadResourceResultSchema, downstream, connection).catch((error: unknown) => {
        throw isNotFoundOfItsEra(error, connection) ? new JsonRpcError(RESOURCE_NOT_FOUND, error.message, { uri: params.uri }) : error;
      });
      return { result, hint: answerHint([upstream], [hintOfResult(result)]) };
    },
    async getPrompt(params, downstream) {
      const target = await findPrompt(merged, namesOf, params.name);
      if (!target) throw new JsonRpcError(ErrorCode.InvalidParams, `Unknown prompt: ${params.name}`);
      const connection = await requestConnection(personal, principal, target.upstream);
      return forwardRequest(target.upstream, { method: 'prompts/get', params: { ...params, name: target.original } }, GetPromptResultSchema, downstream, connection);
    },
    async complete(params, downstream) {
      const { ref } = params;
      const target =
        ref.type === 'ref/prompt'
          ? await findPrompt(merged, namesOf, ref.name).then((found) => found && { upstream: found.upstream, ref: { ...ref, name: found.original } })
          : await templateOwner(merged, ref.uri).then((upstream) => upstream && { upstream, ref });
      const connection = target && (await requestConnection(personal, principal, target.upstream));
      // Nothing to complete from (unknown reference, or an upstream that offers no completions): no suggestions.
      if (!target || !connection || !('client' in connection) || !connection.client.getServerCapabilities()?.completions) {
        return { completion: { values: [] } };
      }
      const message = { method: 'completion/complete', params: { ...params, ref: target.ref } };
      return forwardRequest(target.upstream, message, CompleteResultSchema, downstream, connection);
    },
  };
}

type Merged = <K extends ListKind>(kind: K) => ReturnType<Catalog['list']>;

type Resolved =
  /** `tool`: the listed definition, absent for a tool of an upstream that is down and was never listed. */
  | { kind: 'found' | 'hidden' | 'down'; upstream: Upstream; original: string; tool?: Tool }
  | { kind: 'unknown' };

const unprefixed = (registry: UpstreamRegistry) => registry.all().filter((upstream) => upstream.settings.tool_name_prefix === false);

/**
 * What `name` is to this principal, from the upstream and original name `found` behind it (findTool). A name that can
 * only belong to a visible upstream that is down resolves to it, so the caller learns the upstream is unavailable.
 */
function resolveTool(
  visible: () => Upstream[],
  isVisible: (upstream: Upstream) => boolean,
  name: string,
  found: ReturnType<typeof findTool>,
): Resolved {
  if (found) return { kind: isVisible(found.upstream) && toolPermitted(found.upstream.settings, found.original) ? 'found' : 'hidden', upstream: found.upstream, original: found.original, tool: found.tool };
  const down = visible().find((upstream) => hasUpstreamPrefix(name, upstream.settings.name) && 'unavailable' in availabilityOf(upstream));
  const original = down && name.slice(down.settings.name.length + NAME_SEPARATOR.length);
  // `down` is one of the visible upstreams already.
  if (down && original && toolPermitted(down.settings, original)) return { kind: 'down', upstream: down, original };
  return { kind: 'unknown' };
}

/**
 * Whether a tool its pin withholds in memory still is after the pins are read again from the store: the verdict in
 * memory decides a call that may go on; a refusal is checked once more, so an approval made through another replica
 * takes effect at once.
 */
async function withheldAfterRefresh(pins: ToolPins, upstream: Upstream, tool: Tool): Promise<boolean> {
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

/** The upstream that listed `uri`, or else the first whose resource template matches it (first: by name, resource-owners.ts). */
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

/**
 * Records one call; a failing audit store is logged, never turned into a failed call. Not async: the audit's promise
 * with a handler for its failure, not wrapped in one more promise and a turn of the microtask queue per call.
 */
function record(audit: ToolCallAudit, logger: GatewayLogger, entry: Parameters<ToolCallAudit['record']>[0]): Promise<void> {
  const failed = (error: unknown) => logger.warn({ error: String(error), upstream: entry.upstream.settings.name, tool: entry.tool }, 'recording a tool call failed');
  try {
    return audit.record(entry).then(undefined, failed);
  } catch (error) {
    failed(error);
    return Promise.resolve();
  }
}
