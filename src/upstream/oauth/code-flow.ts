import {
  AuthorizationResponseError,
  authorizationCodeGrantRequest,
  calculatePKCECodeChallenge,
  generateRandomCodeVerifier,
  generateRandomState,
  processAuthorizationCodeResponse,
  validateAuthResponse,
  type AuthorizationServer,
} from 'oauth4webapi';
import { oauthRequestOptions } from './outbound-fetch.js';
import { clientAuthentication, oauthClient, resourceParameter, tokenRequestError, toTokenSet } from './token-requests.js';
import { OAuthSetupError, type ClientCredentials, type OutboundHttpOptions, type StartedAuthorization, type TokenSet } from './types.js';

/**
 * The authorization code flow with an upstream's authorization server (OAuth 2.1 §4.1 with PKCE S256): the URL
 * to send the browser to, then the callback's validation (state, RFC 9207 `iss`, error responses) and the code
 * exchange. `resource` (RFC 8707) goes on both requests, identical, when the caller has one.
 */

const OFFLINE_ACCESS = 'offline_access';

export interface StartAuthorizationOptions {
  server: AuthorizationServer;
  client: ClientCredentials;
  redirectUri: string;
  resource?: string;
  scope?: string;
}

/** `offline_access` joins a requested scope only when the server lists it (MCP 2026-07-28 "Refresh Tokens"). */
export function scopeWithOfflineAccess(scope: string | undefined, server: AuthorizationServer): string | undefined {
  if (!scope) return scope;
  const scopes = scope.split(' ').filter(Boolean);
  if (scopes.includes(OFFLINE_ACCESS) || !server.scopes_supported?.includes(OFFLINE_ACCESS)) return scopes.join(' ');
  return [...scopes, OFFLINE_ACCESS].join(' ');
}

/** The authorization endpoint, refused unless http(s): the browser is sent there (MCP "OAuth Authorization URL Validation"). */
function authorizationEndpoint(server: AuthorizationServer): URL {
  const endpoint = server.authorization_endpoint;
  const url = endpoint && URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new OAuthSetupError('authorization_server_metadata', `the authorization server ${server.issuer} names no http(s) authorization_endpoint`, endpoint ?? server.issuer);
  }
  return url;
}

export async function startAuthorization(options: StartAuthorizationOptions): Promise<StartedAuthorization> {
  const url = authorizationEndpoint(options.server);
  const codeVerifier = generateRandomCodeVerifier();
  const state = generateRandomState();
  const scope = scopeWithOfflineAccess(options.scope, options.server);
  const parameters: Record<string, string> = {
    response_type: 'code',
    client_id: options.client.clientId,
    redirect_uri: options.redirectUri,
    code_challenge: await calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...(scope ? { scope } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return { url: url.href, state, codeVerifier };
}

export interface FinishAuthorizationOptions {
  server: AuthorizationServer;
  client: ClientCredentials;
  redirectUri: string;
  /** The full callback URL the browser arrived at (its query carries code, state, iss or error). */
  callbackUrl: string | URL;
  expectedState: string;
  codeVerifier: string;
  resource?: string;
  http: OutboundHttpOptions;
  /** When the request was made (the runtime's clock; the system's unless given): the tokens' expiry counts from it, a little early. */
  now?: number;
}

/**
 * The callback's parameters, checked by oauth4webapi: `state` equal; `iss` (RFC 9207) required when the server
 * advertises it and, whenever present, byte-identical to the recorded issuer; an `error` response refused.
 */
function validateCallback(options: FinishAuthorizationOptions): URLSearchParams {
  const { server } = options;
  const callback = new URL(options.callbackUrl);
  const refuse = (how: string, cause?: unknown) =>
    new OAuthSetupError('authorization_response', `the authorization response ${how}`, server.authorization_endpoint, cause === undefined ? undefined : { cause });
  const iss = callback.searchParams.get('iss');
  if (iss !== null && iss !== server.issuer) throw refuse(`names issuer "${iss}", not the authorization server's "${server.issuer}"`);
  if (iss === null && server.authorization_response_iss_parameter_supported === true) {
    throw refuse(`has no iss, which ${server.issuer} advertises it always sends (RFC 9207)`);
  }
  try {
    return validateAuthResponse(server, oauthClient(options.client), callback, options.expectedState);
  } catch (error) {
    if (error instanceof AuthorizationResponseError) {
      const description = error.error_description ? `: ${error.error_description}` : '';
      throw refuse(`is an error from ${server.issuer}, "${error.error}"${description}`, error);
    }
    throw refuse(`was refused (${error instanceof Error ? error.message : 'invalid'})`, error);
  }
}

/** Validates the callback and redeems the code (with the PKCE verifier and `resource`). Token failures are TokenRequestErrors. */
export async function finishAuthorization(options: FinishAuthorizationOptions): Promise<TokenSet> {
  const parameters = validateCallback(options);
  const { server, client } = options;
  try {
    const requestOptions = { ...oauthRequestOptions(options.http), ...resourceParameter(options.resource) };
    const response = await authorizationCodeGrantRequest(server, oauthClient(client), clientAuthentication(client), parameters, options.redirectUri, options.codeVerifier, requestOptions);
    return toTokenSet(await processAuthorizationCodeResponse(server, oauthClient(client), response), options.now);
  } catch (error) {
    throw tokenRequestError(error, server.token_endpoint);
  }
}
