import { z } from 'zod';
import { isBoundResource } from '../net/resource-uri.js';
import { IdJagError } from '../sso/id-jag.js';
import type { RegisteredClient } from './clients.js';
import { OAuthError } from './errors.js';
import { JWT_BEARER_GRANT } from './grant-types.js';
import { gatewayResource } from './resource.js';
import { formatScope, grantableScopes } from './scopes.js';
import { issueTokens, standingGrant, type GrantDeps, type GrantHandler } from './token-response.js';

/** Strings only: a repeated parameter arrives as an array and is refused as invalid_request. */
const jwtBearerParams = z.object({
  assertion: z.string().min(1, 'assertion is required').max(16 * 1024),
  scope: z.string().optional(),
  resource: z.string().optional(),
});

/** Draft §4.3: the client presenting an ID-JAG authenticates; a public client's id proves nothing. */
function requireConfidentialClient(client: RegisteredClient): void {
  if (client.metadata.token_endpoint_auth_method === 'none') {
    throw new OAuthError('unauthorized_client', 'only confidential clients may present an ID-JAG');
  }
}

/** RFC 8707: tokens are for Gatehouse's /mcp; a `resource` asked for must be it. */
function requireGatewayResource(deps: GrantDeps, requested: string | undefined): string {
  const resource = gatewayResource(deps.config.publicUrl);
  if (requested !== undefined && !isBoundResource(requested, resource)) throw new OAuthError('invalid_target', 'resource is not this server\u2019s /mcp URL');
  return resource;
}

/**
 * The JWT bearer grant with an Identity Assertion JWT Authorization Grant (RFC 7523 §2.1;
 * draft-ietf-oauth-identity-assertion-authz-grant §4.3): an access token for the person the trusted IdP asserts,
 * without a browser round-trip; no refresh token (the client asks its IdP for a new assertion).
 */
export const redeemIdJag: GrantHandler = async (deps, client, body, context) => {
  const params = jwtBearerParams.parse(body);
  if (!deps.sso.idJag.enabled) throw new OAuthError('unsupported_grant_type', 'no identity provider is trusted for ID-JAG');
  requireConfidentialClient(client);
  const resource = requireGatewayResource(deps, params.resource);
  const redeemed = await deps.sso.idJag
    .redeem(params.assertion, { audience: deps.config.publicUrl, resource, clientId: client.clientId })
    .catch((error: unknown) => {
      throw error instanceof IdJagError ? new OAuthError('invalid_grant', error.message, undefined, {}, (error.cause as Error | undefined)?.message) : error;
    });
  const allowance = formatScope(grantableScopes(undefined, client.metadata.scope));
  const requested = params.scope ?? (typeof redeemed.claims.scope === 'string' ? redeemed.claims.scope : undefined);
  const scope = formatScope(grantableScopes(requested, allowance));
  const grant = await standingGrant(deps, { userId: redeemed.user.id, clientId: client.clientId, scope: allowance, resource }, JWT_BEARER_GRANT, context);
  const issued = await issueTokens(deps, { grant, scope, refreshScope: scope, withRefreshToken: false, now: context.now });
  return issued.json;
};
