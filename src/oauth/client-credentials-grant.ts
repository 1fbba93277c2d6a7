import { z } from 'zod';
import type { ServiceAccountRecord } from '../store/index.js';
import { OAuthError } from './errors.js';
import { resolveResource, virtualServerExists } from './resource.js';
import { formatScope, parseScope } from './scopes.js';
import { issueTokens, standingGrant, type GrantDeps, type GrantHandler } from './token-response.js';

/** Strings only: a repeated parameter arrives as an array and is refused as invalid_request. */
const clientCredentialsParams = z.object({
  scope: z.string().optional(),
  resource: z.string().optional(),
});

/** RFC 8707 §2: the MCP client credentials extension asks for the resource; here it must be Gatehouse's /mcp or a virtual server's. */
async function requireResource(deps: GrantDeps, requested: string | undefined): Promise<string> {
  if (requested === undefined) throw new OAuthError('invalid_target', 'resource is required: the /mcp URL of this server');
  const resource = await resolveResource(requested, deps.config.publicUrl, virtualServerExists(deps.store.virtualServers));
  if (!resource) throw new OAuthError('invalid_target', 'resource is not this server\u2019s /mcp URL (or a virtual server\u2019s /mcp/{name})');
  return resource;
}

/** Only a service account's client may use this grant (RFC 6749 §4.4.2: the client acts for itself). */
async function requireServiceAccount(deps: GrantDeps, clientId: string): Promise<ServiceAccountRecord> {
  const account = await deps.store.serviceAccounts.findByClientId(clientId);
  if (!account) throw new OAuthError('unauthorized_client', 'only service accounts may use client_credentials');
  return account;
}

/** RFC 6749 §3.3: the requested scope must be within the account's; none asked means all of it. */
function scopeWithin(requested: string | undefined, account: ServiceAccountRecord): string {
  const asked = parseScope(requested);
  if (asked.length === 0) return formatScope(account.scopes);
  const outside = asked.filter((scope) => !account.scopes.includes(scope));
  if (outside.length > 0) throw new OAuthError('invalid_scope', `not within the service account's scopes: ${outside.join(' ')}`);
  return formatScope(asked);
}

/** The client_credentials grant (RFC 6749 §4.4; MCP "OAuth Client Credentials" extension): an access token, never a refresh token. */
export const issueClientCredentialsToken: GrantHandler = async (deps, client, body, context) => {
  const params = clientCredentialsParams.parse(body);
  const resource = await requireResource(deps, params.resource);
  const account = await requireServiceAccount(deps, client.clientId);
  const scope = scopeWithin(params.scope, account);
  const grant = await standingGrant(deps, { userId: account.userId, clientId: account.clientId, scope: formatScope(account.scopes), resource }, 'client_credentials', context);
  const issued = await issueTokens(deps, { grant, scope, refreshScope: scope, withRefreshToken: false, now: context.now });
  return issued.json;
};
