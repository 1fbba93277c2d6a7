import { z } from 'zod';
import { isBoundResource } from '../net/resource-uri.js';
import type { AuthorizationCodeRecord } from '../store/index.js';
import type { RegisteredClient } from './clients.js';
import { OAuthError } from './errors.js';
import { verifyS256 } from './pkce.js';
import { clientMayRefresh, issueTokens, requireActiveUser, requireLiveGrant, type GrantContext, type GrantDeps, type GrantHandler } from './token-response.js';

/** Strings only: a repeated parameter arrives as an array and is refused as invalid_request. */
const codeGrantParams = z.object({
  code: z.string().min(1),
  redirect_uri: z.string().min(1).optional(),
  code_verifier: z.string().min(1),
  resource: z.string().optional(),
});
type CodeGrantParams = z.infer<typeof codeGrantParams>;

/** Marks the code used with the store's compare-and-set, trying each pepper's hash of it. */
async function consumeCode(deps: GrantDeps, code: string, now: number) {
  for (const hash of deps.keys.tokenHasher.candidates(code)) {
    const consumed = await deps.store.codes.consume(hash, now);
    if (consumed) return consumed;
  }
  throw new OAuthError('invalid_grant', 'unknown authorization code');
}

/** RFC 6749 §4.1.2 / RFC 9700 §4.5: a second redemption means the code leaked, so its grant dies with every token from it. */
async function revokeOnReuse(deps: GrantDeps, code: AuthorizationCodeRecord, context: GrantContext): Promise<never> {
  await deps.grants.revoke(code.grantId, 'authorization code reused', { ip: context.ip });
  await deps.audit.record('code.reused', { clientId: code.clientId, grantId: code.grantId, ip: context.ip });
  throw new OAuthError('invalid_grant', 'the authorization code has already been used');
}

function checkCodeFresh(deps: GrantDeps, code: AuthorizationCodeRecord, now: number): void {
  const expiresAt = Math.min(code.expiresAt, code.createdAt + deps.config.oauth.authorizationCodeTtlSeconds * 1000);
  if (expiresAt <= now) throw new OAuthError('invalid_grant', 'the authorization code has expired');
}

/** Bound to the client it was issued to and the exact redirect URI used at the authorization endpoint (RFC 6749 §4.1.3). */
function checkCodeBinding(code: AuthorizationCodeRecord, client: RegisteredClient, params: CodeGrantParams): void {
  if (code.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'the authorization code was issued to another client');
  // OAuth 2.1 §4.1.3: redirect_uri is required here only if the authorization request carried it; it may omit it
  // only when the client registered a single URI, which is then the one the code is bound to.
  const redirectUri = params.redirect_uri ?? (client.metadata.redirect_uris.length === 1 ? client.metadata.redirect_uris[0] : undefined);
  if (redirectUri === undefined) throw new OAuthError('invalid_request', 'redirect_uri is required');
  if (code.redirectUri !== redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request');
}

function checkPkce(code: AuthorizationCodeRecord, params: CodeGrantParams): void {
  if (!verifyS256(params.code_verifier, code.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
}

/** RFC 8707 §2.2: a resource sent here must be the one the code was issued for. */
function checkResource(code: AuthorizationCodeRecord, params: CodeGrantParams): void {
  if (params.resource === undefined) return;
  if (!isBoundResource(params.resource, code.resource)) {
    throw new OAuthError('invalid_target', 'resource differs from the one the authorization code was issued for');
  }
}

/** The authorization_code grant (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.6), in the order the checks run. */
export const exchangeAuthorizationCode: GrantHandler = async (deps, client, body, context) => {
  const params = codeGrantParams.parse(body);
  const { code, firstUse } = await consumeCode(deps, params.code, context.now);
  if (!firstUse) return revokeOnReuse(deps, code, context);
  checkCodeFresh(deps, code, context.now);
  checkCodeBinding(code, client, params);
  checkPkce(code, params);
  checkResource(code, params);
  const grant = await requireLiveGrant(deps, code.grantId, client.clientId, context.now);
  await requireActiveUser(deps, grant);

  const issued = await issueTokens(deps, { grant, scope: code.scope, refreshScope: code.scope, withRefreshToken: clientMayRefresh(client), now: context.now });
  if (issued.refreshToken) await deps.store.refreshTokens.create(issued.refreshToken);
  await deps.store.grants.touch(grant.id, context.now);
  return issued.json;
};
