import type { IncomingHttpHeaders } from 'node:http';
import {
  ClientCapabilitiesSchema,
  ErrorCode,
  ImplementationSchema,
  isInitializeRequest,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientCapabilities,
  type Implementation,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { argumentAt, decodeHeaderValue, NAME_HEADER_FIELDS, paramHeaderDeclarations } from '../../http/mcp-headers.js';
import { isJsonObject } from '../../json-object.js';
import { META, RESERVED_META_PREFIX, STATELESS_ERRORS, STATELESS_PROTOCOL_VERSION } from '../../upstream/streamable-http/protocol-eras.js';

/**
 * What a MCP 2026-07-28 request carries besides its body, checked before anything runs (basic/transports/
 * streamable-http, "Request Metadata" and "Server Validation"; basic/versioning): the era it belongs to, the
 * `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers against the body, and the per-request `_meta` that
 * replaces the `initialize` handshake. Each failure is a refusal with the HTTP status and JSON-RPC error the
 * specification names, in the order a 2026-07-28 server checks them.
 */

/** The protocol versions served statelessly, newest first (server/discover's `supportedVersions`): the revision Gatehouse also speaks to upstreams. */
export const MODERN_VERSIONS: readonly string[] = Object.freeze([STATELESS_PROTOCOL_VERSION]);

/** The 2026-07-28 error codes (basic/index, "Error Codes"), the same numbers the upstream client reads. */
export const { headerMismatch: HEADER_MISMATCH, missingCapability: MISSING_CLIENT_CAPABILITY, unsupportedVersion: UNSUPPORTED_PROTOCOL_VERSION } = STATELESS_ERRORS;

const LEGACY_VERSIONS: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS);

/**
 * Whether a request is served statelessly (basic/versioning, "Backward Compatibility"): an `initialize` request or a
 * session id selects the 2025 semantics of that session, as does a legacy `MCP-Protocol-Version`; a POST naming any
 * other version, or carrying the per-request `_meta` without the header, is a 2026-07-28 request (and is refused as
 * one when it gets the rest wrong).
 */
export function isModernRequest(method: string, headers: IncomingHttpHeaders, messages: readonly JSONRPCMessage[]): boolean {
  if (method !== 'POST' || headers['mcp-session-id'] !== undefined || messages.some(isInitializeRequest)) return false;
  const version = headers['mcp-protocol-version'];
  if (typeof version === 'string') return !LEGACY_VERSIONS.has(version.trim());
  return messages.some((message) => 'method' in message && typeof metaOf(message)?.[META.protocolVersion] === 'string');
}

/** The client's side of one request, from its `_meta`. */
export interface RequestMeta {
  protocolVersion: string;
  clientCapabilities: ClientCapabilities;
  clientInfo?: Implementation;
}

/** An answer that refuses the request before it runs. */
export interface Refusal {
  status: number;
  code: number;
  message: string;
  data?: unknown;
}

const mismatch = (message: string): Refusal => ({ status: 400, code: HEADER_MISMATCH, message: `Header mismatch: ${message}` });
const invalidMeta = (message: string): Refusal => ({ status: 400, code: ErrorCode.InvalidParams, message: `Invalid params: ${message}` });

/** The request's headers and `_meta` checked against its body: the client's metadata, or the refusal to answer with. */
export function checkRequest(headers: IncomingHttpHeaders, request: JSONRPCRequest): { meta: RequestMeta } | { refusal: Refusal } {
  const version = headerValue(headers, 'mcp-protocol-version');
  if (version === undefined) return { refusal: mismatch('the MCP-Protocol-Version header is missing') };
  const meta = metaOf(request);
  const metaVersion = meta?.[META.protocolVersion];
  if (typeof metaVersion !== 'string') return { refusal: invalidMeta(`_meta must hold ${META.protocolVersion}`) };
  const capabilities = ClientCapabilitiesSchema.safeParse(meta?.[META.clientCapabilities]);
  if (!capabilities.success) return { refusal: invalidMeta(`_meta must hold ${META.clientCapabilities}, an object`) };
  if (metaVersion !== version) return { refusal: mismatch(`MCP-Protocol-Version ${JSON.stringify(version)} does not match _meta ${JSON.stringify(metaVersion)}`) };
  if (!MODERN_VERSIONS.includes(version)) {
    return {
      refusal: { status: 400, code: UNSUPPORTED_PROTOCOL_VERSION, message: `Unsupported protocol version ${version}`, data: { supported: MODERN_VERSIONS, requested: version } },
    };
  }
  const method = headerValue(headers, 'mcp-method');
  if (method === undefined) return { refusal: mismatch('the Mcp-Method header is missing') };
  if (method !== request.method) return { refusal: mismatch(`Mcp-Method ${JSON.stringify(method)} does not match the body's ${JSON.stringify(request.method)}`) };
  const nameField = NAME_HEADER_FIELDS.get(request.method);
  const bodyName = nameField === undefined ? undefined : (request.params as Record<string, unknown> | undefined)?.[nameField];
  if (typeof bodyName === 'string') {
    const name = decodedHeader(headers, 'mcp-name');
    if (name === undefined) return { refusal: mismatch('the Mcp-Name header is missing') };
    if (name === null) return { refusal: mismatch('the Mcp-Name header is not valid') };
    if (name !== bodyName) return { refusal: mismatch(`Mcp-Name ${JSON.stringify(name)} does not match the body's ${JSON.stringify(bodyName)}`) };
  }
  const clientInfo = ImplementationSchema.safeParse(meta?.[`${META}clientInfo`]);
  return { meta: { protocolVersion: version, clientCapabilities: capabilities.data, ...(clientInfo.success ? { clientInfo: clientInfo.data } : {}) } };
}

/**
 * The `Mcp-Param-*` headers of a `tools/call` against its arguments, for each parameter the tool's input schema marks
 * with `x-mcp-header` ("Custom Headers from Tool Parameters"): a value in the body needs its header, equal after
 * decoding (integers compared as numbers); a header needs its value; an undecodable header is refused.
 */
export function checkParamHeaders(headers: IncomingHttpHeaders, inputSchema: unknown, args: Record<string, unknown> | undefined): Refusal | undefined {
  for (const { path, name: header } of paramHeaderDeclarations(inputSchema).declared) {
    const value = argumentAt(args, path);
    const sent = decodedHeader(headers, `mcp-param-${header.toLowerCase()}`);
    const present = value !== undefined && value !== null;
    if (sent === null) return mismatch(`the Mcp-Param-${header} header is not valid`);
    if (sent === undefined && !present) continue;
    if (sent === undefined) return mismatch(`the Mcp-Param-${header} header is missing`);
    if (!present || !sameValue(sent, value)) return mismatch(`Mcp-Param-${header} does not match the argument ${path.join('.')}`);
  }
  return undefined;
}

function sameValue(header: string, value: unknown): boolean {
  if (typeof value === 'string') return header === value;
  if (typeof value === 'boolean') return header === String(value);
  if (typeof value === 'number') return header.trim() !== '' && Number(header) === value;
  return false;
}

/** A header's value without surrounding whitespace (RFC 9110 §5.5); absent: undefined. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/** A header that may carry the Base64 sentinel, decoded; absent: undefined; not valid: null. */
function decodedHeader(headers: IncomingHttpHeaders, name: string): string | null | undefined {
  const value = headerValue(headers, name);
  return value === undefined ? undefined : decodeHeaderValue(value);
}

function metaOf(message: JSONRPCMessage): Record<string, unknown> | undefined {
  const meta = 'params' in message ? (message.params as { _meta?: unknown } | undefined)?._meta : undefined;
  return isJsonObject(meta) ? meta : undefined;
}

/** `_meta` without the client's protocol metadata, which describes this request to the gateway and to no upstream. */
export function withoutProtocolMeta<P extends { _meta?: Record<string, unknown> }>(params: P): P {
  if (!params._meta) return params;
  const meta = Object.fromEntries(Object.entries(params._meta).filter(([key]) => !key.startsWith(RESERVED_META_PREFIX)));
  const { _meta: _dropped, ...rest } = params;
  return (Object.keys(meta).length === 0 ? rest : { ...rest, _meta: meta }) as P;
}
