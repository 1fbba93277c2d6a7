import {
  AuthorizationResponseError,
  authorizationCodeGrantRequest,
  calculatePKCECodeChallenge,
  ClientSecretBasic,
  ClientSecretPost,
  discoveryRequest,
  genericTokenEndpointRequest,
  getValidatedIdTokenClaims,
  jwksCache,
  processAuthorizationCodeResponse,
  processDiscoveryResponse,
  processGenericTokenEndpointResponse,
  processRefreshTokenResponse,
  processUserInfoResponse,
  refreshTokenGrantRequest,
  ResponseBodyError,
  userInfoRequest,
  validateApplicationLevelSignature,
  validateAuthResponse,
  type AuthorizationServer,
  type Client,
  type ClientAuth,
  type JWKSCacheInput,
  type TokenEndpointResponse,
} from 'oauth4webapi';
import type { SsoProviderSettings } from '../config-sso.js';
import { GuardedFetchError } from '../net/guarded-fetch.js';
import { oauthRequestOptions } from '../upstream/oauth/outbound-fetch.js';
import type { OutboundHttpOptions } from '../upstream/oauth/types.js';
import { usernameClaims } from './provisioning.js';
import { SsoSignInError } from './sign-in-errors.js';

/**
 * Gatehouse as an OpenID Connect relying party of one company IdP: authorization code flow with PKCE (S256),
 * `state` and `nonce` (OIDC Core §3.1). Every step is oauth4webapi's; every request goes through the SSRF-guarded
 * fetch. Failures are SsoSignInErrors whose kind says whose mistake it was.
 */

/** What one sign-in keeps between the redirect to the IdP and the callback. */
export interface SignInSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The claims Gatehouse reads of a person: the validated ID token's, completed by userinfo when it lacks some. */
export type IdentityClaims = Record<string, unknown> & { iss: string; sub: string };

/** Tokens the IdP issued to Gatehouse for a person (at sign-in, by refresh, or by a token exchange). */
export interface IdpTokens {
  accessToken: string;
  refreshToken?: string;
  /** Seconds, as the IdP said; undefined when it did not. */
  expiresIn?: number;
}

/** RFC 8693 §2.1: what a token exchange asks for. */
export interface TokenExchangeRequest {
  subjectToken: string;
  audience: string;
  resource: string;
  scope?: string;
}

export interface RelyingParty {
  readonly provider: SsoProviderSettings;
  /** The IdP's discovery document (cached for an hour). */
  metadata(): Promise<AuthorizationServer>;
  /** The IdP's authorization URL for this sign-in (discovering the IdP first when needed). */
  authorizationUrl(secrets: SignInSecrets): Promise<URL>;
  /** Checks the callback, redeems the code and validates the ID token; the person's claims and Gatehouse's tokens for them. */
  redeem(callbackUrl: URL, secrets: SignInSecrets): Promise<{ claims: IdentityClaims; tokens: IdpTokens }>;
  /** RFC 6749 §6: new tokens for the person from the refresh token of their sign-in. */
  refresh(refreshToken: string): Promise<IdpTokens>;
  /** RFC 8693: a token for another audience, in exchange for the person's access token at the IdP. */
  exchange(request: TokenExchangeRequest): Promise<IdpTokens>;
}

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function idpTokens(response: TokenEndpointResponse): IdpTokens {
  return {
    accessToken: response.access_token,
    ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    ...(response.expires_in !== undefined ? { expiresIn: response.expires_in } : {}),
  };
}

/** Discovery documents change rarely; an hour keeps key rotations and endpoint moves visible without a restart. */
const DISCOVERY_TTL_MS = 3600 * 1000;

export function relyingParty(
  provider: SsoProviderSettings,
  setup: { publicUrl: string; http: OutboundHttpOptions },
  now: () => number = Date.now,
): RelyingParty {
  // What the IdP must have registered.
  const redirectUri = `${setup.publicUrl}/login/oidc/${provider.id}/callback`;
  const options = oauthRequestOptions(setup.http);
  const client: Client = { client_id: provider.client_id };
  const keys: JWKSCacheInput = {};
  let discovered: { server: AuthorizationServer; until: number } | undefined;

  /** OIDC Discovery §4: the issuer's /.well-known/openid-configuration, whose `issuer` must be the configured one. */
  async function server(): Promise<AuthorizationServer> {
    if (discovered && discovered.until > now()) return discovered.server;
    const issuer = new URL(provider.issuer);
    const found = await step('discovery', 'provider_unavailable', async () =>
      processDiscoveryResponse(issuer, await discoveryRequest(issuer, { ...options, algorithm: 'oidc' })),
    );
    if (!found.authorization_endpoint || !found.token_endpoint || !found.jwks_uri) {
      throw new SsoSignInError('provider_unavailable', 'the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri');
    }
    discovered = { server: found, until: now() + DISCOVERY_TTL_MS };
    return found;
  }

  function clientAuthentication(as: AuthorizationServer): ClientAuth {
    const methods = as.token_endpoint_auth_methods_supported;
    // The default of OIDC Discovery is client_secret_basic.
    if (!methods || methods.includes('client_secret_basic')) return ClientSecretBasic(provider.client_secret);
    return ClientSecretPost(provider.client_secret);
  }

  /** OIDC Core §5.3: when the ID token lacks the groups or every username claim, userinfo (if the IdP has one) completes it. */
  async function completedClaims(as: AuthorizationServer, idClaims: IdentityClaims, accessToken: string): Promise<IdentityClaims> {
    const complete = provider.groups_claim in idClaims && usernameClaims(provider).some((claim) => claim in idClaims);
    if (complete || !as.userinfo_endpoint) return idClaims;
    const userinfo = await step('userinfo', 'invalid_response', async () =>
      processUserInfoResponse(as, client, idClaims.sub, await userInfoRequest(as, client, accessToken, options)),
    );
    return { ...userinfo, ...idClaims };
  }

  return {
    provider,
    metadata: server,
    async authorizationUrl({ state, nonce, codeVerifier }) {
      const as = await server();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: provider.client_id,
        redirect_uri: redirectUri,
        scope: provider.scopes.join(' '),
        state,
        nonce,
        code_challenge: await calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      return url;
    },
    async redeem(callbackUrl, { state, nonce, codeVerifier }) {
      const as = await server();
      // RFC 6749 §4.1.2: state must match, `error=` is the IdP's refusal; RFC 9207 `iss` is checked when the IdP sends it.
      const parameters = await step('callback', 'invalid_response', () => validateAuthResponse(as, client, callbackUrl, state));
      const response = await step('token request', 'provider_unavailable', () =>
        authorizationCodeGrantRequest(as, client, clientAuthentication(as), parameters, redirectUri, codeVerifier, options),
      );
      // OIDC Core §3.1.3.7: iss, aud (and azp), exp, iat and nonce; then the signature against the IdP's JWKS.
      const tokens = await step('token response', 'invalid_response', () =>
        processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true }),
      );
      await step('ID token signature', 'invalid_response', () => validateApplicationLevelSignature(as, response, { ...options, [jwksCache]: keys }));
      const idClaims = getValidatedIdTokenClaims(tokens)! as unknown as IdentityClaims;
      return { claims: await completedClaims(as, idClaims, tokens.access_token), tokens: idpTokens(tokens) };
    },
    async refresh(refreshToken) {
      const as = await server();
      const response = await step('refresh request', 'provider_unavailable', () =>
        refreshTokenGrantRequest(as, client, clientAuthentication(as), refreshToken, options),
      );
      return idpTokens(await step('refresh response', 'invalid_response', () => processRefreshTokenResponse(as, client, response)));
    },
    async exchange({ subjectToken, audience, resource, scope }) {
      const as = await server();
      // RFC 8693 §2.1: the person's access token as the subject; the upstream as audience and resource.
      const parameters = new URLSearchParams({ subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, audience, resource });
      if (scope) parameters.set('scope', scope);
      const response = await step('token exchange request', 'provider_unavailable', () =>
        genericTokenEndpointRequest(as, client, clientAuthentication(as), TOKEN_EXCHANGE_GRANT, parameters, options),
      );
      return idpTokens(await step('token exchange response', 'invalid_response', () => processGenericTokenEndpointResponse(as, client, response)));
    },
  };
}

/**
 * Runs one step; a failure becomes an SsoSignInError. Unreachable IdPs and refusals are told apart from answers that
 * fail a check: `otherwise` is what anything else means at this step (a broken IdP at discovery, a bad answer later).
 */
async function step<T>(name: string, otherwise: 'provider_unavailable' | 'invalid_response', action: () => T | Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof SsoSignInError) throw error;
    if (error instanceof AuthorizationResponseError) throw new SsoSignInError('provider_refused', `${name}: ${error.error}`, { cause: error });
    if (error instanceof GuardedFetchError) throw new SsoSignInError('provider_unavailable', `${name}: ${error.reason}`, { cause: error });
    if (error instanceof ResponseBodyError) throw new SsoSignInError('invalid_response', `${name}: the IdP answered ${error.error}`, { cause: error });
    throw new SsoSignInError(otherwise, `${name}: ${(error as Error).message}`, { cause: error });
  }
}
