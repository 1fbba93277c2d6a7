import { z } from 'zod';
import { isBoundResource } from '../net/resource-uri.js';
import type { GrantRecord, RefreshTokenRecord, RotationOutcome } from '../store/index.js';
import { OAuthError } from './errors.js';
import { replayCopy, replayedResponse, replaySecrets } from './refresh-replay.js';
import { formatScope, parseScope, scopesCover, SUPPORTED_SCOPES } from './scopes.js';
import { checkLiveGrant, findRefreshTokenWithGrant, issueTokens, requireActiveUser, type GrantContext, type GrantDeps, type GrantHandler, type IssuedTokens } from './token-response.js';

/** Strings only: a repeated parameter arrives as an array and is refused as invalid_request. */
const refreshGrantParams = z.object({
  refresh_token: z.string().min(1),
  scope: z.string().optional(),
  resource: z.string().optional(),
});
type RefreshGrantParams = z.infer<typeof refreshGrantParams>;

async function findRefreshToken(deps: GrantDeps, token: string, lookup: 'findWithGrant' | 'findToRotate'): Promise<{ record: RefreshTokenRecord; grant: GrantRecord }> {
  const found = await findRefreshTokenWithGrant(deps, token, lookup);
  if (!found) throw new OAuthError('invalid_grant', 'unknown refresh token');
  return { record: found.token, grant: found.grant };
}

/**
 * A rotated token presented again. Inside the grace window (counted from the first rotation, so it never slides)
 * it gets the successor response it already produced: a client whose answer was lost in transit may retry.
 * After it, the token was stolen or replayed: that grant is revoked, and only that grant (RFC 9700 §4.14.2).
 */
async function replayOrRevoke(deps: GrantDeps, presented: string, record: RefreshTokenRecord, grant: GrantRecord, context: GrantContext): Promise<string> {
  const { rotatedAt, replayResponse } = record;
  if (rotatedAt !== null && replayResponse && context.now <= rotatedAt + deps.config.oauth.refreshGraceSeconds * 1000) {
    return replayedResponse(deps, { tokenHash: record.tokenHash, rotatedAt, replayResponse }, grant, presented);
  }
  await deps.grants.revoke(record.grantId, 'refresh token reused', { ip: context.ip });
  await deps.audit.record('refresh.reused', {
    userId: grant.userId,
    clientId: grant.clientId,
    grantId: grant.id,
    ip: context.ip,
    detail: { rotatedAt: record.rotatedAt },
  });
  throw new OAuthError('invalid_grant', 'the refresh token has already been used');
}

function checkIdleExpiry(record: RefreshTokenRecord, now: number): void {
  if (record.expiresAt <= now) throw new OAuthError('invalid_grant', 'the refresh token has expired');
}

/**
 * RFC 6749 §6: the scope may narrow, never widen. Scopes we do not issue (offline_access, other servers') are
 * ignored as at the authorization endpoint; nothing usable left means the token's own scope.
 */
function narrowedScope(params: RefreshGrantParams, record: RefreshTokenRecord, grant: GrantRecord): string {
  const known = new Set<string>(SUPPORTED_SCOPES);
  const wanted = parseScope(params.scope).filter((scope) => known.has(scope));
  if (wanted.length === 0) return record.scope;
  if (!scopesCover(record.scope, wanted) || !scopesCover(grant.scope, wanted)) {
    throw new OAuthError('invalid_scope', 'scope may only narrow the scope of the original grant');
  }
  return formatScope(wanted);
}

/** RFC 8707 §2.2: a resource sent on refresh must be the grant's. */
function checkResource(params: RefreshGrantParams, grant: GrantRecord): void {
  if (params.resource === undefined) return;
  if (!isBoundResource(params.resource, grant.resource)) {
    throw new OAuthError('invalid_target', 'resource differs from the one the grant was issued for');
  }
}

/** Retires the presented token for its successor, keeping what rebuilds the successor's response for the grace replay. */
function rotate(deps: GrantDeps, record: RefreshTokenRecord, grant: GrantRecord, issued: IssuedTokens, scope: string, now: number): Promise<RotationOutcome> {
  return deps.store.refreshTokens.rotate({
    tokenHash: record.tokenHash,
    now,
    replayResponse: replayCopy(issued.accessToken, scope),
    successor: issued.refreshToken ?? null,
    grant,
  });
}

/** The refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3.1) with rotation on every use, in the order the checks run. */
export const refreshAccessToken: GrantHandler = async (deps, client, body, context) => {
  const params = refreshGrantParams.parse(body);
  const { record, grant: grantRow } = await findRefreshToken(deps, params.refresh_token, 'findToRotate');
  const grant = checkLiveGrant(grantRow, client.clientId, context.now);
  await requireActiveUser(deps, grant);
  if (record.rotatedAt !== null) return replayOrRevoke(deps, params.refresh_token, record, grant, context);
  checkIdleExpiry(record, context.now);
  const scope = narrowedScope(params, record, grant);
  checkResource(params, grant);

  const secrets = replaySecrets(deps.keys.refreshReplayKey, params.refresh_token, context.now);
  const issued = await issueTokens(deps, { grant, scope, refreshScope: record.scope, withRefreshToken: true, now: context.now, secrets });
  if ((await rotate(deps, record, grant, issued, scope, context.now)) === 'won') return issued.json;
  // Lost: a concurrent refresh with the same token retired it (answer as a retry of theirs), or the grant was revoked
  // meanwhile (refused). Our successor never became live. Read again: what was found before may have been stale.
  const again = await findRefreshToken(deps, params.refresh_token, 'findWithGrant');
  return replayOrRevoke(deps, params.refresh_token, again.record, checkLiveGrant(again.grant, client.clientId, context.now), context);
};
