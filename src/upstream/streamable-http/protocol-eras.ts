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

/** `params` with the per-request protocol fields (and the log level, when one is asked for) added to its `_meta` (the caller's own `_meta` keys kept). */
export function withRequestMeta(params: JsonObject | undefined, identity: StatelessIdentity, capabilities: JsonObject, logLevel?: string): JsonObject {
  const own = params?._meta;
  return {
    ...params,
    _meta: {
      ...(isJsonObject(own) ? own : {}),
      [META.protocolVersion]: identity.protocolVersion,
      [META.clientInfo]: identity.clientInfo,
      [META.clientCapabilities]: capabilities,
      ...(logLevel === undefined ? {} : { [META.logLevel]: logLevel }),
    },
  };
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
 * A stateless upstream's result as a session-era (2025) client may receive it: without what 2026-07-28 added to results
 * (schema `Result.resultType`, `CacheableResult.ttlMs`/`cacheScope`, `ResultMetaObject`'s serverInfo, which names the
 * upstream, not the server the client initialized with), everything else as it came. A result without `resultType` is
 * not of the stateless era (every 2026-07-28 result carries it) and is returned as it is.
 */
export function sessionEraResult<T extends JsonObject>(result: T): T {
  if (!('resultType' in result)) return result;
  const { resultType: _resultType, ttlMs: _ttlMs, cacheScope: _cacheScope, _meta, ...rest } = result;
  if (!isJsonObject(_meta)) return rest as T;
  const { [META.serverInfo]: _serverInfo, ...meta } = _meta;
  return (Object.keys(meta).length === 0 ? rest : { ...rest, _meta: meta }) as T;
}
