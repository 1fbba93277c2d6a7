import { processDiscoveryResponse, type AuthorizationServer } from 'oauth4webapi';
import { fetchFailureSummary, GuardedFetchError } from '../../net/guarded-fetch.js';
import { canonicalResource } from '../../net/resource-uri.js';
import { isJsonObject } from '../../json-object.js';
import { outboundFetch, type OutboundFetch } from './outbound-fetch.js';
import {
  OAuthSetupError,
  type BearerChallenge,
  type ConfiguredOAuth,
  type DiscoveredAuthorization,
  type OAuthSetupStep,
  type OutboundHttpOptions,
} from './types.js';

/**
 * Discovery of an upstream's authorization, in the order the MCP authorization spec prescribes (2025-11-25 and
 * 2026-07-28, "Authorization Server Discovery"): the 401 challenge, the Protected Resource Metadata (RFC 9728),
 * the authorization server's metadata (RFC 8414 / OIDC Discovery), and, for servers that publish no PRM, the
 * 2025-03-26 fallback. Each document is checked before it is believed; every refusal is an OAuthSetupError that
 * says which document was wrong and how, without quoting what the document or a redirect said.
 */

const PROBE_TIMEOUT_MS = 10_000;
const PROBE_PROTOCOL_VERSION = '2025-11-25';

// --- The challenge ----------------------------------------------------------------------------------------------

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/:-]+=*/y;

function readAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

function readQuoted(text: string, at: number): { value: string; end: number } {
  let value = '';
  let i = at + 1;
  while (i < text.length && text[i] !== '"') {
    if (text[i] === '\\') i++;
    value += text[i] ?? '';
    i++;
  }
  return { value, end: i + 1 };
}

/**
 * The auth-params of each challenge in a `WWW-Authenticate` value (RFC 9110 §11.6.1), by lower-cased scheme.
 * Hand-rolled: oauth4webapi 3 parses challenges only inside its own response processing and exports no parser.
 */
function parseChallenges(header: string): Map<string, Record<string, string>> {
  const challenges = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let i = 0;
  while (i < header.length) {
    while (i < header.length && /[\s,]/.test(header[i]!)) i++;
    const name = readAt(TOKEN, header, i);
    if (!name) break;
    let j = i + name.length;
    while (header[j] === ' ') j++;
    if (header[j] === '=' && current) {
      j++;
      while (header[j] === ' ') j++;
      const quoted = header[j] === '"' ? readQuoted(header, j) : undefined;
      const value = quoted?.value ?? readAt(TOKEN68, header, j) ?? '';
      current[name.toLowerCase()] = value;
      i = quoted?.end ?? j + value.length;
    } else {
      current = {};
      challenges.set(name.toLowerCase(), current);
      i = j;
    }
  }
  return challenges;
}

/** The Bearer challenge of a `WWW-Authenticate` value, or undefined when it has none. */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  const bearer = header ? parseChallenges(header).get('bearer') : undefined;
  if (!bearer) return undefined;
  return {
    ...(bearer.resource_metadata ? { resourceMetadata: bearer.resource_metadata } : {}),
    ...(bearer.scope ? { scope: bearer.scope } : {}),
    ...(bearer.error ? { error: bearer.error } : {}),
  };
}

/**
 * Asks the upstream, unauthenticated, to initialize. A 401 (or a 403 `insufficient_scope`) answers with the
 * challenge to follow; any other answer means the upstream needs no authorization: undefined. The upstream URL is
 * the admin's own configuration, so it is fetched directly, not through the guard for outsiders' URLs.
 */
export async function probeChallenge(upstreamUrl: string, options: { timeoutMs?: number } = {}): Promise<BearerChallenge | undefined> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: PROBE_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'Gatehouse', version: '1' } },
  };
  let response: Response;
  try {
    response = await fetch(upstreamUrl, { method: 'POST', headers, body: JSON.stringify(initialize), signal: AbortSignal.timeout(options.timeoutMs ?? PROBE_TIMEOUT_MS) });
  } catch (error) {
    throw new OAuthSetupError('probe', `the upstream at ${upstreamUrl} could not be reached to learn whether it needs authorization`, upstreamUrl, { cause: error });
  }
  await response.body?.cancel();
  const challenge = parseBearerChallenge(response.headers.get('www-authenticate'));
  if (response.status === 401) return challenge ?? {};
  if (response.status === 403 && challenge?.error === 'insufficient_scope') return challenge;
  await endProbeSession(upstreamUrl, response.headers.get('mcp-session-id'));
  return undefined;
}

/** A stateful upstream opened a session for the probe: close it rather than leave it to expire. */
async function endProbeSession(upstreamUrl: string, sessionId: string | null): Promise<void> {
  if (!sessionId) return;
  await fetch(upstreamUrl, { method: 'DELETE', headers: { 'mcp-session-id': sessionId }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    .then((response) => response.body?.cancel())
    .catch(() => undefined);
}

// --- Documents --------------------------------------------------------------------------------------------------

type DocumentAnswer = { found: true; response: Response } | { found: false; status: number };

/** GET a metadata document. 200 is found; 4xx is "not here" (the caller tries the next place); anything else fails. */
async function fetchDocument(fetchJson: OutboundFetch, url: string, step: OAuthSetupStep, what: string): Promise<DocumentAnswer> {
  let response: Response;
  try {
    response = await fetchJson(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    // The detail (hosts a redirect led to, how they resolve) stays in `cause`: it may describe a private network.
    const reason = error instanceof GuardedFetchError ? fetchFailureSummary(error) : 'the request failed';
    throw new OAuthSetupError(step, `the ${what} at ${url} could not be fetched: ${reason}`, url, { cause: error });
  }
  if (response.status === 200) return { found: true, response };
  await response.body?.cancel();
  if (response.status >= 400 && response.status < 500) return { found: false, status: response.status };
  throw new OAuthSetupError(step, `the ${what} at ${url} answered with HTTP ${response.status}`, url);
}

async function jsonObject(response: Response, url: string, step: OAuthSetupStep, what: string): Promise<Record<string, unknown>> {
  const body: unknown = await response.json().catch(() => undefined);
  if (!isJsonObject(body)) throw new OAuthSetupError(step, `the ${what} at ${url} is not a JSON object`, url);
  return body;
}

// --- Protected Resource Metadata (RFC 9728) ---------------------------------------------------------------------

interface ResourceMetadata {
  url: string;
  resource: string;
  authorizationServer: string;
  scopesSupported?: string[];
}

/** The path-inserted well-known URL, then the root one (MCP "Protected Resource Metadata Discovery Requirements"). */
function resourceMetadataUrls(upstreamUrl: string): string[] {
  const url = new URL(upstreamUrl);
  const path = url.pathname.replace(/\/$/, '');
  const root = `${url.origin}/.well-known/oauth-protected-resource`;
  return path ? [`${root}${path}`, root] : [root];
}

function withoutTrailingSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

/**
 * Whether a PRM `resource` identifies this upstream (RFC 9728 §3.3): the same URL, compared after URL parsing
 * (scheme and host case, default port) and ignoring one trailing slash, a common interop wobble; or the upstream's
 * whole origin, which is what a root-level PRM document describes. Never a fragment, never another origin.
 */
export function resourceIdentifiesUpstream(resource: string, upstreamUrl: string): boolean {
  if (!URL.canParse(resource)) return false;
  const published = new URL(resource);
  const upstream = new URL(upstreamUrl);
  if (published.hash || published.origin !== upstream.origin) return false;
  const path = withoutTrailingSlash(published.pathname);
  return path === '' || (path === withoutTrailingSlash(upstream.pathname) && published.search === upstream.search);
}

function checkResourceMetadata(body: Record<string, unknown>, url: string, upstreamUrl: string): ResourceMetadata {
  const refuse = (how: string) => new OAuthSetupError('protected_resource_metadata', `the protected resource metadata at ${url} ${how}`, url);
  if (typeof body.resource !== 'string') throw refuse('has no "resource"');
  if (!resourceIdentifiesUpstream(body.resource, upstreamUrl)) {
    throw refuse(`names another resource, not the upstream ${upstreamUrl}`);
  }
  const servers = body.authorization_servers;
  if (!Array.isArray(servers) || typeof servers[0] !== 'string' || !URL.canParse(servers[0])) {
    throw refuse('lists no authorization server in "authorization_servers"');
  }
  const scopes = Array.isArray(body.scopes_supported) ? body.scopes_supported.filter((scope): scope is string => typeof scope === 'string') : [];
  return { url, resource: body.resource, authorizationServer: servers[0], ...(scopes.length ? { scopesSupported: scopes } : {}) };
}

/** The challenge's PRM URL if it named one (then only that), else the well-known places in order; undefined: none published. */
async function findResourceMetadata(fetchJson: OutboundFetch, upstreamUrl: string, challenge: BearerChallenge | undefined): Promise<ResourceMetadata | undefined> {
  const what = 'protected resource metadata';
  const candidates = challenge?.resourceMetadata ? [challenge.resourceMetadata] : resourceMetadataUrls(upstreamUrl);
  for (const url of candidates) {
    const answer = await fetchDocument(fetchJson, url, 'protected_resource_metadata', what);
    if (answer.found) return checkResourceMetadata(await jsonObject(answer.response, url, 'protected_resource_metadata', what), url, upstreamUrl);
    if (challenge?.resourceMetadata) {
      throw new OAuthSetupError('protected_resource_metadata', `the ${what} named by the upstream's challenge, ${url}, answered with HTTP ${answer.status}`, url);
    }
  }
  return undefined;
}

// --- Authorization server metadata (RFC 8414, OIDC Discovery) ---------------------------------------------------

/** The well-known URLs of an issuer, in the MCP spec's order ("Authorization Server Metadata Discovery"). */
export function authorizationServerMetadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = withoutTrailingSlash(url.pathname);
  const { origin } = url;
  if (!path) return [`${origin}/.well-known/oauth-authorization-server`, `${origin}/.well-known/openid-configuration`];
  return [`${origin}/.well-known/oauth-authorization-server${path}`, `${origin}/.well-known/openid-configuration${path}`, `${origin}${path}/.well-known/openid-configuration`];
}

/** oauth4webapi checks status, JSON and that `issuer` is the one the URL was built from (RFC 8414 §3.3). */
async function readServerMetadata(response: Response, url: string, issuer: string): Promise<AuthorizationServer> {
  const claimed = (await response.clone().json().catch(() => undefined)) as { issuer?: unknown } | undefined;
  try {
    return await processDiscoveryResponse(new URL(issuer), response);
  } catch (error) {
    const how = typeof claimed?.issuer === 'string' ? `names another issuer, expected "${issuer}"` : 'is not valid authorization server metadata (it needs a JSON object with an "issuer")';
    throw new OAuthSetupError('authorization_server_metadata', `the authorization server metadata at ${url} ${how}`, url, { cause: error });
  }
}

async function findServerMetadata(fetchJson: OutboundFetch, issuer: string): Promise<{ server: AuthorizationServer; url: string } | undefined> {
  for (const url of authorizationServerMetadataUrls(issuer)) {
    const answer = await fetchDocument(fetchJson, url, 'authorization_server_metadata', 'authorization server metadata');
    if (answer.found) return { server: await readServerMetadata(answer.response, url, issuer), url };
  }
  return undefined;
}

/** 2025-03-26 servers without metadata: the default endpoints at the MCP server's origin ("Fallbacks for Servers without Metadata Discovery"). */
function defaultEndpoints(origin: string): AuthorizationServer {
  return {
    issuer: origin,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    registration_endpoint: `${origin}/register`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
  };
}

/** The admin's explicit endpoints win over (or stand in for) the published ones. */
function withConfiguredEndpoints(server: AuthorizationServer, configured: ConfiguredOAuth | undefined): AuthorizationServer {
  return {
    ...server,
    ...(configured?.authorizeUrl ? { authorization_endpoint: configured.authorizeUrl } : {}),
    ...(configured?.tokenUrl ? { token_endpoint: configured.tokenUrl } : {}),
    ...(configured?.registrationUrl ? { registration_endpoint: configured.registrationUrl } : {}),
  };
}

function checkUsable(server: AuthorizationServer, metadataUrl: string | undefined, issuer: string): void {
  const where = metadataUrl ? `the authorization server metadata at ${metadataUrl}` : `the authorization server ${issuer}`;
  const refuse = (how: string) => new OAuthSetupError('authorization_server_metadata', `${where} ${how}`, metadataUrl ?? issuer);
  if (!server.code_challenge_methods_supported?.includes('S256')) {
    throw refuse('does not list S256 in "code_challenge_methods_supported": PKCE with S256 is required');
  }
  if (!server.authorization_endpoint) throw refuse('has no "authorization_endpoint" (configure authorize_url)');
  if (!server.token_endpoint) throw refuse('has no "token_endpoint" (configure token_url)');
}

/** The server's metadata: published, else the admin's endpoints, else (2025-03-26 only) the default endpoints. */
async function resolveServer(fetchJson: OutboundFetch, issuer: string, configured: ConfiguredOAuth | undefined, legacy: boolean) {
  const found = await findServerMetadata(fetchJson, issuer);
  if (found) return { server: withConfiguredEndpoints(found.server, configured), metadataUrl: found.url };
  if (legacy) return { server: withConfiguredEndpoints(defaultEndpoints(issuer), configured), metadataUrl: undefined };
  if (configured?.authorizeUrl && configured.tokenUrl) {
    return { server: withConfiguredEndpoints({ issuer, code_challenge_methods_supported: ['S256'] }, configured), metadataUrl: undefined };
  }
  const tried = authorizationServerMetadataUrls(issuer).join(', ');
  throw new OAuthSetupError('authorization_server_metadata', `the authorization server ${issuer} publishes no metadata (tried ${tried})`, issuer);
}

// --- The whole discovery ----------------------------------------------------------------------------------------

export interface DiscoverOptions {
  challenge?: BearerChallenge;
  configured?: ConfiguredOAuth;
  http: OutboundHttpOptions;
}

/** The scope to request (MCP "Scope Selection Strategy"): the challenge's, else the PRM's, else the admin's, else none. */
function selectScope(challenge: BearerChallenge | undefined, metadata: ResourceMetadata | undefined, configured: ConfiguredOAuth | undefined): string | undefined {
  if (challenge?.scope) return challenge.scope;
  if (metadata?.scopesSupported) return metadata.scopesSupported.join(' ');
  if (configured?.scopes?.length) return configured.scopes.join(' ');
  return undefined;
}

export async function discover(upstreamUrl: string, options: DiscoverOptions): Promise<DiscoveredAuthorization> {
  const upstreamOrigin = new URL(upstreamUrl).origin;
  // The upstream's own origin is the admin's choice: its well-known documents are trusted like the upstream itself.
  const fetchJson = outboundFetch({ ...options.http, trustedOrigins: [...(options.http.trustedOrigins ?? []), upstreamOrigin] });
  const metadata = await findResourceMetadata(fetchJson, upstreamUrl, options.challenge);
  const issuer = metadata?.authorizationServer ?? upstreamOrigin;
  const { server, metadataUrl } = await resolveServer(fetchJson, issuer, options.configured, metadata === undefined);
  checkUsable(server, metadataUrl, issuer);
  const scope = selectScope(options.challenge, metadata, options.configured);
  return {
    resource: metadata?.resource ?? canonicalResource(upstreamUrl),
    ...(metadata ? { resourceMetadataUrl: metadata.url } : {}),
    issuer: server.issuer,
    server,
    ...(scope !== undefined ? { scope } : {}),
  };
}
