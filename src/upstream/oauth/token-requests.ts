import {
  ClientSecretPost,
  None,
  OperationProcessingError,
  processRefreshTokenResponse,
  processRevocationResponse,
  refreshTokenGrantRequest,
  ResponseBodyError,
  revocationRequest,
  WWWAuthenticateChallengeError,
  type AuthorizationServer,
  type Client,
  type ClientAuth,
  type TokenEndpointResponse,
} from 'oauth4webapi';
import { GuardedFetchError, type GuardedFetchFailure } from '../../net/guarded-fetch.js';
import { oauthRequestOptions } from './outbound-fetch.js';
import { TokenRequestError, type ClientCredentials, type OutboundHttpOptions, type TokenSet } from './types.js';

/**
 * Requests at an authorization server's token and revocation endpoints, through oauth4webapi, with failures
 * classified so the caller knows what to do next (TokenRequestError's kinds). Messages name the endpoint and the
 * OAuth error code only: never a token, a secret or the server's free-text description, which may echo either.
 */

/** oauth4webapi's view of Gatehouse's registration. */
export function oauthClient(client: ClientCredentials): Client {
  return { client_id: client.clientId, token_endpoint_auth_method: client.authMethod };
}

/**
 * HTTP Basic client authentication (RFC 6749 §2.3.1). Each part is percent-encoded as the RFC asks, but with
 * encodeURIComponent, which leaves `-`, `_`, `.` and the like as they are: oauth4webapi's encoder escapes those too,
 * and servers that never decode (the conformance suite's, many in the wild) then see a different client_id.
 * A server that decodes reads the same value either way.
 */
function clientSecretBasic(clientSecret: string): ClientAuth {
  return (_server, client, _body, headers) => {
    const credentials = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(clientSecret)}`;
    headers.set('authorization', `Basic ${Buffer.from(credentials).toString('base64')}`);
  };
}

/** Client authentication at the token endpoint per the registered method (OAuth 2.1 §2.4). */
export function clientAuthentication(client: ClientCredentials): ClientAuth {
  if (client.authMethod === 'none') return None();
  if (!client.clientSecret) throw new TokenRequestError('invalid_client', `the ${client.authMethod} client has no secret`);
  return client.authMethod === 'client_secret_post' ? ClientSecretPost(client.clientSecret) : clientSecretBasic(client.clientSecret);
}

/** RFC 8707 `resource`, only when there is one to send. */
export function resourceParameter(resource: string | undefined): { additionalParameters?: Record<string, string> } {
  return resource ? { additionalParameters: { resource } } : {};
}

export function toTokenSet(response: TokenEndpointResponse, now = Date.now()): TokenSet {
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    ...(typeof response.expires_in === 'number' ? { expiresAt: now + response.expires_in * 1000 } : {}),
    ...(response.scope ? { scope: response.scope } : {}),
  };
}

const TRANSIENT_FETCH_FAILURES: readonly GuardedFetchFailure[] = ['connection_failed', 'timeout', 'dns_failure'];

function kindOfOAuthError(code: string | undefined, status: number): TokenRequestError['kind'] {
  if (code === 'invalid_grant') return 'invalid_grant';
  if (code === 'invalid_client' || code === 'unauthorized_client') return 'invalid_client';
  if (status >= 500 || code === 'temporarily_unavailable' || code === 'server_error') return 'transient';
  return 'other';
}

/** What a failed request means: a TokenRequestError whose kind says whether to re-authorize, re-register or retry. */
export function tokenRequestError(error: unknown, endpoint: string | undefined, endpointName = 'token'): TokenRequestError {
  const at = `the ${endpointName} endpoint${endpoint ? ` at ${endpoint}` : ''}`;
  if (error instanceof TokenRequestError) return error;
  if (error instanceof ResponseBodyError) {
    return new TokenRequestError(kindOfOAuthError(error.error, error.status), `${at} answered HTTP ${error.status} with error "${error.error}"`, { cause: error });
  }
  if (error instanceof WWWAuthenticateChallengeError) {
    // A 401 challenge from a token endpoint is its refusal of the client's authentication (RFC 6749 §5.2).
    const code = error.cause[0]?.parameters.error;
    const kind = error.status === 401 ? 'invalid_client' : kindOfOAuthError(code, error.status);
    return new TokenRequestError(kind, `${at} answered HTTP ${error.status} with an authentication challenge${code ? ` (${code})` : ''}`, { cause: error });
  }
  if (error instanceof GuardedFetchError) {
    const kind = TRANSIENT_FETCH_FAILURES.includes(error.reason) ? 'transient' : 'other';
    return new TokenRequestError(kind, `${at} could not be reached: ${error.message}`, { cause: error });
  }
  if (error instanceof OperationProcessingError && error.cause instanceof Response) {
    const { status } = error.cause;
    return new TokenRequestError(status >= 500 ? 'transient' : 'other', `${at} answered HTTP ${status}, not an OAuth response`, { cause: error });
  }
  const reason = error instanceof OperationProcessingError ? `: ${error.message}` : '';
  return new TokenRequestError('other', `${at} gave an unusable answer${reason}`, { cause: error });
}

export interface RefreshOptions {
  server: AuthorizationServer;
  client: ClientCredentials;
  refreshToken: string;
  resource?: string;
  http: OutboundHttpOptions;
  /** When the request was made (the runtime's clock; the system's unless given): the tokens' expiry counts from it, a little early. */
  now?: number;
}

/** A refresh grant (RFC 6749 §6) with `resource`; a server that rotates nothing leaves the old refresh token in use. */
export async function refreshTokens(options: RefreshOptions): Promise<TokenSet> {
  const { server, client } = options;
  try {
    const requestOptions = { ...oauthRequestOptions(options.http), ...resourceParameter(options.resource) };
    const response = await refreshTokenGrantRequest(server, oauthClient(client), clientAuthentication(client), options.refreshToken, requestOptions);
    const tokens = toTokenSet(await processRefreshTokenResponse(server, oauthClient(client), response), options.now);
    return tokens.refreshToken ? tokens : { ...tokens, refreshToken: options.refreshToken };
  } catch (error) {
    throw tokenRequestError(error, server.token_endpoint);
  }
}

export interface RevokeOptions {
  server: AuthorizationServer;
  client: ClientCredentials;
  token: string;
  tokenTypeHint: 'access_token' | 'refresh_token';
  http: OutboundHttpOptions;
}

/** RFC 7009 revocation; nothing to do when the server has no revocation endpoint. */
export async function revokeToken(options: RevokeOptions): Promise<void> {
  const { server, client } = options;
  if (!server.revocation_endpoint) return;
  try {
    const requestOptions = { ...oauthRequestOptions(options.http), additionalParameters: { token_type_hint: options.tokenTypeHint } };
    const response = await revocationRequest(server, oauthClient(client), clientAuthentication(client), options.token, requestOptions);
    await processRevocationResponse(response);
  } catch (error) {
    throw tokenRequestError(error, server.revocation_endpoint, 'revocation');
  }
}
