import type { AuthorizationFlowRecord } from '../store/index.js';
import type { ClientCaller, ClientDirectory, RegisteredClient } from './clients.js';
import { OAuthError, type OAuthErrorCode } from './errors.js';
import { resolveResource, type VirtualServerExists } from './resource.js';
import { formatScope, grantableScopes } from './scopes.js';

/** Raw parameters of an authorization request, from the query or a form body; a repeated one is an array. */
export type RawParameters = Record<string, string | string[] | undefined>;

/** An authorization request that passed every check: what the pending flow stores. */
export type AuthorizationRequest = { client: RegisteredClient } & Pick<
  AuthorizationFlowRecord,
  'redirectUri' | 'scope' | 'resource' | 'state' | 'codeChallenge' | 'prompt'
>;

/**
 * Outcome of validation. `page`: the client or redirect URI cannot be trusted, so the error is shown to the
 * person and never sent anywhere. `redirect`: the redirect URI is verified, so the error goes back to the client.
 */
export type AuthorizationOutcome =
  | { kind: 'valid'; request: AuthorizationRequest }
  | { kind: 'page'; error: OAuthError }
  | { kind: 'redirect'; redirectUri: string; state: string | null; error: OAuthError };

export interface AuthorizationRequestDeps {
  clients: ClientDirectory;
  publicUrl: string;
  /** Which /mcp/{name} resources exist (virtual servers). */
  virtualServerExists: VirtualServerExists;
  registrationPolicy: 'open' | 'strict' | 'closed';
  /** The scope the strict policy grants (`oauth.strictScope`). */
  strictScope: string;
  redirectUriMatches(registered: readonly string[], requested: string): boolean;
}

/** RFC 7636 §4.1: 43 to 128 characters of the unreserved alphabet (a base64url SHA-256 is 43). */
const PKCE_CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 8707 §2 allows `resource` more than once; every other parameter must appear at most once. */
const REPEATABLE = new Set(['resource']);

/** A parameter's single value; arrays (repeats) and empty strings count as absent here, repeats are refused later. */
function single(params: RawParameters, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

class RedirectableError extends OAuthError {}

function refuse(error: OAuthErrorCode, description: string): never {
  throw new RedirectableError(error, description);
}

/** Step (a): the client must exist; a metadata-document client is fetched here and may fail with its own reason. */
async function loadClient(params: RawParameters, clients: ClientDirectory, caller: ClientCaller): Promise<RegisteredClient> {
  if (Array.isArray(params.client_id)) throw new OAuthError('invalid_request', 'client_id was given more than once');
  const clientId = single(params, 'client_id');
  if (!clientId) throw new OAuthError('invalid_request', 'client_id is required');
  const client = await clients.find(clientId, caller);
  if (!client) throw new OAuthError('invalid_client', 'this application is not registered here');
  return client;
}

/** Step (b): the redirect URI must be one the client registered (loopback on any port); absent is fine when only one exists. */
function checkRedirectUri(params: RawParameters, client: RegisteredClient, deps: AuthorizationRequestDeps): string {
  if (Array.isArray(params.redirect_uri)) throw new OAuthError('invalid_request', 'redirect_uri was given more than once');
  const requested = single(params, 'redirect_uri');
  const registered = client.metadata.redirect_uris;
  if (requested === undefined) {
    if (registered.length === 1) return registered[0]!;
    throw new OAuthError('invalid_request', 'redirect_uri is required: this application registered several');
  }
  if (!deps.redirectUriMatches(registered, requested)) {
    throw new OAuthError('invalid_request', 'the redirect_uri is not one this application registered');
  }
  return requested;
}

/** Step (g), run first among the redirectable checks: a repeated parameter makes every later read ambiguous. */
function refuseDuplicates(params: RawParameters): void {
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value) && !REPEATABLE.has(name)) refuse('invalid_request', `${name} was given more than once`);
  }
}

/** Step (c): only the authorization code flow exists here. */
function checkResponseType(params: RawParameters): void {
  const responseType = single(params, 'response_type');
  if (!responseType) refuse('invalid_request', 'response_type is required');
  if (responseType !== 'code') refuse('unsupported_response_type', 'only response_type=code is supported');
}

/** Step (d): PKCE with S256 on every request; an absent method means `plain` (RFC 7636 §4.3), which is refused. */
function checkPkce(params: RawParameters): string {
  const challenge = single(params, 'code_challenge');
  if (!challenge) refuse('invalid_request', 'code_challenge is required (PKCE with S256)');
  const method = single(params, 'code_challenge_method');
  if (method !== 'S256') refuse('invalid_request', 'code_challenge_method must be S256');
  if (!PKCE_CHALLENGE.test(challenge)) refuse('invalid_request', 'code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]');
  return challenge;
}

/** Step (e): unknown scopes are dropped and an absent scope gets the default; the strict policy always grants its configured scope. */
function reduceScope(params: RawParameters, client: RegisteredClient, deps: Pick<AuthorizationRequestDeps, 'registrationPolicy' | 'strictScope'>): string {
  if (deps.registrationPolicy === 'strict') return deps.strictScope;
  return formatScope(grantableScopes(single(params, 'scope'), client.metadata.scope));
}

/** Step (f): the resource defaults to this gateway's /mcp; a virtual server's /mcp/{name} is ours too; anything else is not. */
async function checkResource(params: RawParameters, deps: Pick<AuthorizationRequestDeps, 'publicUrl' | 'virtualServerExists'>): Promise<string> {
  const resource = await resolveResource(params.resource, deps.publicUrl, deps.virtualServerExists);
  if (!resource) refuse('invalid_target', 'resource must be this gateway\'s MCP endpoint (/mcp, or /mcp/{name} of a virtual server)');
  return resource;
}

/** Validates an authorization request in the order that decides where an error may be sent. */
export async function validateAuthorizationRequest(
  params: RawParameters,
  deps: AuthorizationRequestDeps,
  caller: ClientCaller,
): Promise<AuthorizationOutcome> {
  let client: RegisteredClient;
  let redirectUri: string;
  try {
    client = await loadClient(params, deps.clients, caller);
    redirectUri = checkRedirectUri(params, client, deps);
  } catch (error) {
    if (error instanceof OAuthError) return { kind: 'page', error };
    throw error;
  }
  // From here on the redirect URI is verified, so errors go back to the client with its state.
  const state = typeof params.state === 'string' ? params.state : Array.isArray(params.state) ? (params.state[0] ?? null) : null;
  try {
    refuseDuplicates(params);
    checkResponseType(params);
    const codeChallenge = checkPkce(params);
    const scope = reduceScope(params, client, deps);
    const resource = await checkResource(params, deps);
    return {
      kind: 'valid',
      request: { client, redirectUri, scope, resource, state, codeChallenge, prompt: single(params, 'prompt') ?? null },
    };
  } catch (error) {
    if (error instanceof RedirectableError) return { kind: 'redirect', redirectUri, state, error };
    throw error;
  }
}

/**
 * The redirect URI with the response parameters added, keeping any query the client registered byte for byte.
 * `iss` (RFC 9207) goes on every response, success or error.
 */
export function authorizationResponseUrl(redirectUri: string, params: Record<string, string | null | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined) query.append(name, value);
  const separator = !redirectUri.includes('?') ? '?' : /[?&]$/.test(redirectUri) ? '' : '&';
  return `${redirectUri}${separator}${query.toString()}`;
}

/** An error response for the client: `error`, `error_description`, `state` when given, and `iss`. */
export function errorResponseUrl(redirectUri: string, error: OAuthError, state: string | null, issuer: string): string {
  return authorizationResponseUrl(redirectUri, { error: error.error, error_description: error.description, state, iss: issuer });
}
