import { CallToolResultSchema, ListToolsResultSchema, ToolSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { encodeHeaderValue, NAME_HEADER_FIELDS } from '../../http/mcp-headers.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';

/**
 * The two eras of MCP that Gatehouse speaks to a Streamable HTTP upstream:
 * - `session` (2025-06-18, 2025-11-25): an `initialize` handshake, an `Mcp-Session-Id`, server-to-client requests on
 *   SSE streams. The SDK 1.x client does the handshake; the direct path sends on its session.
 * - `stateless` (2026-07-28): no handshake and no session; every request carries the protocol version, the client's
 *   identity and capabilities in `_meta` (basic/index "Per-request protocol fields") and the routing headers
 *   `Mcp-Method`/`Mcp-Name` (transports/streamable-http "Standard Request Headers"). Only the direct path speaks it.
 * This module holds what a request of the stateless era looks like; era-negotiation.ts decides which era an upstream speaks.
 */

/** The stateless revision Gatehouse speaks; the SDK 1.x negotiates the session era (up to 2025-11-25) itself. */
export const STATELESS_PROTOCOL_VERSION = '2026-07-28';

export type ProtocolEra = 'stateless' | 'session';

/** What an upstream was found to speak: its era and, where known, the revision. */
export interface NegotiatedProtocol {
  era: ProtocolEra;
  /** Absent for session-era upstreams whose transport does not say (stdio, in-process). */
  version?: string;
}

/** The prefix of the `_meta` keys MCP reserves for itself (basic/index "Reserved keys"). */
export const RESERVED_META_PREFIX = 'io.modelcontextprotocol/';

/**
 * The `_meta` keys Gatehouse reads and writes, on both sides: the progress token (either era), and the reserved keys
 * of a stateless request, result or notification.
 */
export const META = {
  progressToken: 'progressToken',
  protocolVersion: `${RESERVED_META_PREFIX}protocolVersion`,
  clientInfo: `${RESERVED_META_PREFIX}clientInfo`,
  clientCapabilities: `${RESERVED_META_PREFIX}clientCapabilities`,
  serverInfo: `${RESERVED_META_PREFIX}serverInfo`,
  subscriptionId: `${RESERVED_META_PREFIX}subscriptionId`,
  logLevel: `${RESERVED_META_PREFIX}logLevel`,
} as const;

/** The error codes a stateless server answers with (schema: HeaderMismatch, MissingRequiredClientCapability, UnsupportedProtocolVersion). */
export const STATELESS_ERRORS = { headerMismatch: -32020, missingCapability: -32021, unsupportedVersion: -32022 } as const;

/** Who Gatehouse is towards a stateless upstream, sent with every request. */
export interface StatelessIdentity {
  protocolVersion: string;
  clientInfo: { name: string; version: string };
}

/** `params` with `fields` added to its `_meta`, the caller's own `_meta` keys kept (when it is an object). */
function withMeta(params: JsonObject | undefined, fields: JsonObject): JsonObject {
  const own = params?._meta;
  return { ...params, _meta: { ...(isJsonObject(own) ? own : {}), ...fields } };
}

/** `params` with `_meta.progressToken` set to `token`: the upstream reports progress under it. */
export function withProgressToken(params: JsonObject | undefined, token: string | number): JsonObject {
  return withMeta(params, { [META.progressToken]: token });
}

/** `params` with the per-request protocol fields (and the log level, when one is asked for) added to its `_meta`. */
export function withRequestMeta(params: JsonObject | undefined, identity: StatelessIdentity, capabilities: JsonObject, logLevel?: string): JsonObject {
  return withMeta(params, {
    [META.protocolVersion]: identity.protocolVersion,
    [META.clientInfo]: identity.clientInfo,
    [META.clientCapabilities]: capabilities,
    ...(logLevel === undefined ? {} : { [META.logLevel]: logLevel }),
  });
}

/**
 * `Mcp-Method` and, for named requests, `Mcp-Name`: the routing headers of a stateless request, with the upstream's own
 * names (in the Base64 sentinel form when they are not plain ASCII).
 */
export function routingHeaders(method: string, params: JsonObject | undefined): Record<string, string> {
  const field = NAME_HEADER_FIELDS.get(method);
  const name = field === undefined ? undefined : params?.[field];
  return typeof name === 'string' ? { 'mcp-method': method, 'mcp-name': encodeHeaderValue(name) } : { 'mcp-method': method };
}

/**
 * What 2026-07-28 allows of results beyond the SDK 1.x's 2025 schemas (SEP-2106, changelog minor change 10): a tool's
 * `outputSchema` any JSON Schema object (not only `type: "object"`), its `structuredContent` any JSON value. A stateless
 * upstream's results are checked against these; every other schema is the same in both eras.
 */
const STATELESS_SCHEMAS: ReadonlyMap<z.ZodType, z.ZodType> = new Map<z.ZodType, z.ZodType>([
  [CallToolResultSchema, CallToolResultSchema.extend({ structuredContent: z.unknown().optional() })],
  [ListToolsResultSchema, ListToolsResultSchema.extend({ tools: z.array(ToolSchema.extend({ outputSchema: z.looseObject({}).optional() })) })],
]);

/** The schema a stateless upstream's result is checked against, for the SDK schema `schema` of its method. */
export function statelessResultSchema(schema: z.ZodType): z.ZodType {
  return STATELESS_SCHEMAS.get(schema) ?? schema;
}

/**
 * A tool as a session-era (2025) client may receive it: an `outputSchema` that 2025 cannot express (its root not
 * `type: "object"`, which 2026-07-28 allows) left out, so that the client neither refuses the listing nor expects
 * structured content the result cannot carry to it (sessionEraResult).
 */
export function sessionEraTool<T extends JsonObject>(tool: T): T {
  if (!('outputSchema' in tool) || (isJsonObject(tool.outputSchema) && tool.outputSchema.type === 'object')) return tool;
  const { outputSchema: _outputSchema, ...rest } = tool;
  return rest as T;
}

/**
 * A stateless upstream's result as a session-era (2025) client may receive it: without what 2026-07-28 added to results
 * (schema `Result.resultType`, `CacheableResult.ttlMs`/`cacheScope`, `ResultMetaObject`'s serverInfo, which names the
 * upstream, not the server the client initialized with), everything else as it came. A result without `resultType` is
 * not of the stateless era (every 2026-07-28 result carries it) and is returned as it is. Structured content that is
 * not an object, which 2025 cannot carry, is left out too: a 2026-07-28 tool returning such content must also return
 * it serialized in a text block, for clients that do not understand it (SEP-2106, "Backward Compatibility").
 */
export function sessionEraResult<T extends JsonObject>(result: T): T {
  if (!('resultType' in result)) return result;
  const { resultType: _resultType, ttlMs: _ttlMs, cacheScope: _cacheScope, _meta, ...rest } = result;
  if ('structuredContent' in rest && !isJsonObject(rest.structuredContent)) delete rest.structuredContent;
  if (!isJsonObject(_meta)) return rest as T;
  const { [META.serverInfo]: _serverInfo, ...meta } = _meta;
  return (Object.keys(meta).length === 0 ? rest : { ...rest, _meta: meta }) as T;
}
