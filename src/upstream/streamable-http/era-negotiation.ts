import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { NoAnswer, type DirectRequests } from './direct-requests.js';
import { refuseServerRequests } from './server-requests.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { META, STATELESS_ERRORS, STATELESS_PROTOCOL_VERSION, type StatelessIdentity } from './protocol-eras.js';

/**
 * Which era a Streamable HTTP upstream speaks, found the way the 2026-07-28 specification tells a client that serves
 * both (basic/versioning "Backward Compatibility with Initialization-Based Versions", transports/streamable-http
 * "Backward Compatibility"):
 * 1. Send a stateless `server/discover`. A result listing 2026-07-28 among `supportedVersions`: the upstream is
 *    stateless, and the result says what it offers.
 * 2. An `UnsupportedProtocolVersionError` (-32022) is a modern server's answer: when its `supported` list names
 *    2026-07-28 the request is sent once more (the first refusal may be a version it does not take on that request);
 *    when it names none Gatehouse speaks, the server has nothing for us in this era.
 * 3. A header mismatch (-32020) or missing capability (-32021) is a modern server refusing what Gatehouse sent: an
 *    error, not a reason to fall back.
 * 4. No answer (a timeout, a lost connection) fails the attempt as `initialize` would; on stdio
 *    (`silenceMeansLegacy`) it is a legacy server's way of ignoring what it does not know (basic/transports/stdio
 *    "Backward Compatibility"), and the caller goes on with `initialize`.
 * 5. Anything else (a 4xx without a modern error, a result without 2026-07-28, a legacy server's JSON-RPC error):
 *    the upstream is of the session era, and the caller goes on with `initialize` through the SDK client.
 * The answer is kept by the connection for its lifetime: a new attempt (reconnect) asks again.
 */

/** What a stateless upstream said of itself in its DiscoverResult. */
export interface Discovered {
  capabilities: Record<string, unknown>;
  serverInfo?: { name: string; version: string };
  instructions?: string;
}

export type Negotiated = { era: 'stateless'; identity: StatelessIdentity; discovered: Discovered } | { era: 'session' };


function supportedIn(error: McpError): string[] {
  const supported = isJsonObject(error.data) ? error.data.supported : undefined;
  return Array.isArray(supported) ? supported.filter((version): version is string => typeof version === 'string') : [];
}

function discoveredFrom(result: JsonObject): Discovered | undefined {
  const versions = result.supportedVersions;
  if (!Array.isArray(versions) || !versions.includes(STATELESS_PROTOCOL_VERSION)) return undefined;
  const meta = isJsonObject(result._meta) ? result._meta : {};
  const info = result.serverInfo ?? meta[META.serverInfo];
  const serverInfo = isJsonObject(info) && typeof info.name === 'string' && typeof info.version === 'string' ? { name: info.name, version: info.version } : undefined;
  return {
    capabilities: isJsonObject(result.capabilities) ? result.capabilities : {},
    ...(serverInfo ? { serverInfo } : {}),
    ...(typeof result.instructions === 'string' ? { instructions: result.instructions } : {}),
  };
}

/** `server/discover` as Gatehouse sends it, on `direct` in the stateless era. */
export function discover(direct: DirectRequests, timeoutMs: number, signal = AbortSignal.timeout(timeoutMs)): Promise<JsonObject> {
  return direct.request({ method: 'server/discover', params: {} }, { signal, timeoutMs, onServerRequest: refuseServerRequests }) as Promise<JsonObject>;
}

/** Steps 1-5 above; `direct` is left speaking the era found. */
export async function negotiateEra(direct: DirectRequests, clientInfo: StatelessIdentity['clientInfo'], timeoutMs: number, { silenceMeansLegacy = false } = {}): Promise<Negotiated> {
  const identity: StatelessIdentity = { protocolVersion: STATELESS_PROTOCOL_VERSION, clientInfo };
  direct.speakStateless(identity);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const discovered = discoveredFrom(await discover(direct, timeoutMs));
      if (discovered) return { era: 'stateless', identity, discovered };
      break;
    } catch (error) {
      if (!(error instanceof McpError)) break;
      if (error instanceof NoAnswer && !silenceMeansLegacy) {
        // No answer at all is no sign of a legacy server: `initialize` would fare no better.
        direct.speakStateless(undefined);
        throw error;
      }
      if (error.code === STATELESS_ERRORS.unsupportedVersion && supportedIn(error).includes(STATELESS_PROTOCOL_VERSION)) continue;
      if (error.code === STATELESS_ERRORS.headerMismatch || error.code === STATELESS_ERRORS.missingCapability) {
        direct.speakStateless(undefined);
        throw new McpError(ErrorCode.InvalidRequest, `the upstream refused Gatehouse's ${STATELESS_PROTOCOL_VERSION} request: ${error.message}`);
      }
      break;
    }
  }
  direct.speakStateless(undefined);
  return { era: 'session' };
}
