import type { AuthorizationServer } from 'oauth4webapi';
import type { GuardedFetchOptions } from '../../net/guarded-fetch.js';

/**
 * The outbound OAuth client's vocabulary: what discovery finds, the credentials Gatehouse holds at an
 * authorization server, and the tokens it gets. The functions live in discovery.ts, client-registration.ts,
 * authorization.ts and token-requests.ts; the store-backed parts (vault, flows) build on them.
 */

/** How outbound requests to URLs that came from upstream documents are made. */
export interface OutboundHttpOptions {
  /** Development and tests: lets discovered URLs be http:// and reach loopback and private addresses. */
  allowPrivateNetworks: boolean;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /**
   * Origins an admin configured (an upstream's own, for its well-known documents): reached without the address
   * policy, so an upstream on a private network can still publish its metadata. Discovery adds the upstream's.
   */
  trustedOrigins?: string[];
  /** Tests: the guarded fetch's address policy, resolver and CA seams. */
  fetchOptions?: Pick<GuardedFetchOptions, 'isAllowedAddress' | 'resolveHost' | 'ca'>;
}

/** What the upstream's 401 said (RFC 6750 / RFC 9728 `WWW-Authenticate`). */
export interface BearerChallenge {
  resourceMetadata?: string;
  scope?: string;
  error?: string;
}

/** The admin's explicit endpoints and credentials (`oauth_config`), each optional. */
export interface ConfiguredOAuth {
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  authorizeUrl?: string;
  tokenUrl?: string;
  registrationUrl?: string;
  /** Send RFC 8707 `resource` on authorization, token and refresh requests (default true). */
  sendResource: boolean;
}

/** The outcome of discovery, stored (as JSON) with the upstream's OAuth config. */
export interface DiscoveredAuthorization {
  /** The canonical URL of the upstream (PRM `resource` when published, checked against the upstream URL). */
  resource: string;
  /** The PRM URL that answered, if any. */
  resourceMetadataUrl?: string;
  issuer: string;
  /** RFC 8414 / OIDC metadata, with `issuer` checked and S256 advertised. */
  server: AuthorizationServer;
  /** The scope to request: the challenge's, else PRM `scopes_supported`, else the admin's, else none. */
  scope?: string;
}

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface ClientCredentials {
  clientId: string;
  clientSecret?: string;
  authMethod: TokenEndpointAuthMethod;
  source: 'configured' | 'metadata_document' | 'dynamic';
}

export interface TokenSet {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Epoch ms; absent when the server gave no `expires_in`. */
  expiresAt?: number;
  scope?: string;
}

/** A started authorization: send the browser to `url`; keep `state` and `codeVerifier` (sealed) for the callback. */
export interface StartedAuthorization {
  url: string;
  state: string;
  codeVerifier: string;
}

/** Which setup step failed, and which document or endpoint was wrong and how. Never carries a secret. */
export type OAuthSetupStep = 'probe' | 'protected_resource_metadata' | 'authorization_server_metadata' | 'registration' | 'authorization_response' | 'token';

export class OAuthSetupError extends Error {
  constructor(
    readonly step: OAuthSetupStep,
    message: string,
    /** The URL of the document or endpoint at fault, when there is one. */
    readonly url?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OAuthSetupError';
  }
}

/**
 * A failed token request (code exchange, refresh). `invalid_grant`: the grant is gone, authorize again.
 * `invalid_client`: the registration is gone, register again. `transient`: network or 5xx, retry later
 * and keep the tokens. `other`: any other OAuth error.
 */
export class TokenRequestError extends Error {
  constructor(
    readonly kind: 'invalid_grant' | 'invalid_client' | 'transient' | 'other',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TokenRequestError';
  }
}

/**
 * A refusal at the callback or at a connect link, worded for the person in the browser. `then`: the flow's
 * next step, when it was started with one and the refusal came after its state was spent in its user's browser.
 */
export class FlowRefused extends Error {
  constructor(
    readonly code: 'unknown_flow' | 'other_user' | 'sign_in_required' | 'upstream_refused' | 'setup_failed',
    message: string,
    readonly then?: string,
  ) {
    super(message);
  }
}
