import type { Config } from '../config.js';
import { JWT_BEARER_GRANT } from './grant-types.js';
import { gatewayResource, virtualServerResource } from './resource.js';
import { SUPPORTED_SCOPES } from './scopes.js';

/** The client authentication methods the token and revocation endpoints accept (RFC 6749 §2.3). */
const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

/**
 * RFC 8414 authorization server metadata, also served as OpenID discovery. `issuer` is the configured public URL
 * byte for byte (no trailing slash): clients compare it exactly (RFC 8414 §3.3) and so does `iss` (RFC 9207).
 */
export function authorizationServerMetadata(config: Pick<Config, 'publicUrl'> & { oauth: Pick<Config['oauth'], 'registrationPolicy'>; sso: Pick<Config['sso'], 'providers'> }) {
  const issuer = config.publicUrl;
  // The JWT bearer grant (ID-JAG) only while some IdP is trusted for it.
  const assertionGrants = config.sso.providers.some((provider) => provider.trust_id_jag) ? [JWT_BEARER_GRANT] : [];
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    registration_endpoint: `${issuer}/oauth/register`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    jwks_uri: `${issuer}/oauth/jwks`,
    scopes_supported: [...SUPPORTED_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', ...assertionGrants],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // Introspection reveals token state, so only confidential clients (and API keys) may ask.
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // MCP clients refuse to proceed without this list; `plain` is never accepted.
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    // Under the closed policy only registered clients are admitted, so documents are not fetched.
    client_id_metadata_document_supported: config.oauth.registrationPolicy !== 'closed',
  };
}

/**
 * RFC 9728 protected resource metadata of /mcp. `resource` is the canonical URL tokens are bound to (`aud`);
 * `offline_access` is never listed (MCP 2026-07-28 "Refresh Tokens").
 */
export function protectedResourceMetadata(config: Pick<Config, 'publicUrl'>, virtualServer?: string) {
  return {
    resource: virtualServer === undefined ? gatewayResource(config.publicUrl) : virtualServerResource(config.publicUrl, virtualServer),
    authorization_servers: [config.publicUrl],
    scopes_supported: [...SUPPORTED_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: virtualServer === undefined ? 'Gatehouse' : `Gatehouse: ${virtualServer}`,
  };
}

/**
 * Where each document is served. For a root issuer, the two well-known names are all a client tries. When the
 * public URL has a path (`https://host/gh`), RFC 8414 §3.1 and RFC 9728 §3.1 insert it after the well-known
 * name at the host root; those forms are served too, for proxies that forward the host's /.well-known here.
 */
export function metadataPaths(config: Pick<Config, 'publicUrl'>): { authorizationServer: string[]; protectedResource: string[]; virtualServer: string[] } {
  const issuerPath = new URL(config.publicUrl).pathname.replace(/\/$/, '');
  const resourcePath = new URL(gatewayResource(config.publicUrl)).pathname;
  const authorizationServer = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];
  const protectedResource = ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'];
  if (issuerPath) authorizationServer.push(...authorizationServer.map((base) => `${base}${issuerPath}`));
  if (resourcePath !== '/mcp') protectedResource.push(`/.well-known/oauth-protected-resource${resourcePath}`);
  // A virtual server's document: its resource path after the well-known name (RFC 9728 §3.1), `/mcp/{name}`.
  const virtualServer = [...new Set(['/mcp', resourcePath])].map((path) => `/.well-known/oauth-protected-resource${path}/:name`);
  return { authorizationServer, protectedResource, virtualServer };
}
