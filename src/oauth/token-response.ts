import type { FastifyReply } from 'fastify';
import { issueTimeOf, issueToken, newId } from '../crypto/random.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import { findActiveUser } from '../identity/active-user.js';
import type { IdJagVerifier } from '../sso/id-jag.js';
import type { CredentialCache } from '../identity/credential-cache.js';
import type { GrantRecord, OpenedStore, RefreshTokenRecord } from '../store/index.js';
import { isGrantRecordLive, liveGrant, type AccessTokenCopy, type AccessTokenRequest, type AccessTokenService } from './access-tokens.js';
import type { ReplaySecrets } from './refresh-replay.js';
import type { GrantService } from './grants.js';
import type { RegisteredClient } from './clients.js';
import { OAuthError } from './errors.js';

export interface IssuedTokens {
  /** The serialised body, sent as is. */
  json: string;
  /** What rebuilds the access token (the refresh grace replay). */
  accessToken: AccessTokenCopy;
  /** The refresh token's row, not yet stored: the caller stores it where its transaction needs it. */
  refreshToken?: RefreshTokenRecord;
}

export interface GrantContext {
  ip: string | null;
  now: number;
}

/** What the grants of /oauth/token use. */
export interface GrantDeps {
  config: Pick<Config, 'publicUrl' | 'oauth'>;
  /** Codes and refresh tokens redeemed, grants found, made and touched; service accounts and virtual servers looked up. */
  store: Pick<OpenedStore, 'grants' | 'codes' | 'refreshTokens' | 'serviceAccounts' | 'virtualServers' | 'users'>;
  /** Users read through it (whether a grant's user is disabled): every replica empties it when one is disabled. */
  credentials: Pick<CredentialCache, 'get'>;
  /** Hashes of presented tokens; the keys of a refresh token's grace replay (refresh-replay.ts). */
  keys: Pick<KeyRing, 'tokenHasher' | 'encryptionKey' | 'refreshReplayKey'>;
  accessTokens: Pick<AccessTokenService, 'issue' | 'rebuild'>;
  /** Revocation when a code or refresh token is replayed. */
  grants: Pick<GrantService, 'revoke'>;
  audit: AuditLog;
  sso: { idJag: IdJagVerifier };
  clock: Clock;
}

/**
 * A refresh token's stored key: its keyed hash, after the issue time the token carries (`issueToken(kind, now)`). Keys
 * made later sort after earlier ones, so each rotation's new row lands at the end of the table's primary-key index
 * instead of on a random leaf page: one page per group commit instead of one per rotation (bench/README.md). The time
 * is not secret (the access token beside it says as much). A token issued without one keeps the plain keyed hash.
 */
export function refreshTokenKey(hasher: KeyedHasher, token: string): string {
  return keyed(issueTimeOf(token, 'refreshToken'), hasher.hash(token));
}

const keyed = (issuedAt: string | undefined, hash: string) => (issuedAt === undefined ? hash : `${issuedAt}.${hash}`);

/**
 * A presented refresh token's row with its grant's, one read per pepper candidate (an older pepper's hash is still
 * found). `findToRotate` only for a refresh that rotates the token (the store's contract says why).
 */
export async function findRefreshTokenWithGrant(
  deps: { keys: Pick<KeyRing, 'tokenHasher'>; store: Pick<OpenedStore, 'refreshTokens'> },
  token: string,
  lookup: 'findWithGrant' | 'findToRotate' = 'findWithGrant',
): Promise<{ token: RefreshTokenRecord; grant: GrantRecord } | undefined> {
  const issuedAt = issueTimeOf(token, 'refreshToken');
  for (const hash of deps.keys.tokenHasher.candidates(token)) {
    const found = await deps.store.refreshTokens[lookup](keyed(issuedAt, hash));
    if (found) return found;
  }
  return undefined;
}

/** A grant handler: the request body (already known to be a form) and the authenticated client in, JSON out. */
export type GrantHandler = (deps: GrantDeps, client: RegisteredClient, body: unknown, context: GrantContext) => Promise<string>;

export function clientMayRefresh(client: RegisteredClient): boolean {
  return client.metadata.grant_types.includes('refresh_token');
}

/** The grant behind a code or refresh token, if it is this client's and alive (not revoked, within its absolute lifetime). */
export async function requireLiveGrant(deps: Pick<GrantDeps, 'store'>, grantId: string, clientId: string, now: number): Promise<GrantRecord> {
  return checkLiveGrant(await liveGrant(deps.store, grantId, now), clientId, now);
}

/**
 * A disabled user's grants issue nothing while they are disabled (enabling them again restores the grants, as their
 * access tokens at /mcp). Read through the credential cache, which every replica empties when a user is disabled.
 */
export async function requireActiveUser(deps: Pick<GrantDeps, 'store' | 'credentials'>, grant: GrantRecord): Promise<void> {
  const active = await deps.credentials.get(`user:${grant.userId}`, () => findActiveUser(deps.store.users, grant.userId));
  if (!active) throw new OAuthError('invalid_grant', "the grant's user is disabled or deleted");
}

/** The same check on a grant already read (with its refresh token). */
export function checkLiveGrant(grant: GrantRecord | undefined, clientId: string, now: number): GrantRecord {
  if (!grant || !isGrantRecordLive(grant, now) || grant.clientId !== clientId) {
    throw new OAuthError('invalid_grant', 'the grant is revoked, past its absolute lifetime, or was issued to another client');
  }
  return grant;
}

/**
 * The grants without a browser (client_credentials, ID-JAG): the live grant of this user and client for the
 * resource, marked used now, or a new one, created used now (one write either way). Revoking it (or deleting its
 * user) ends its tokens at once, as for any grant.
 */
export async function standingGrant(
  deps: GrantDeps,
  wanted: Pick<GrantRecord, 'userId' | 'clientId' | 'scope' | 'resource'>,
  grantType: string,
  context: GrantContext,
): Promise<GrantRecord> {
  const grants = await deps.store.grants.list({ userId: wanted.userId, clientId: wanted.clientId });
  const live = grants.find((grant) => grant.resource === wanted.resource && grant.scope === wanted.scope && isGrantRecordLive(grant, context.now));
  if (live) {
    await deps.store.grants.touch(live.id, context.now);
    return live;
  }
  const grant: GrantRecord = {
    id: newId('grt'),
    ...wanted,
    createdAt: context.now,
    expiresAt: context.now + deps.config.oauth.refreshTokenAbsoluteSeconds * 1000,
    lastUsedAt: context.now,
    revokedAt: null,
    revokedReason: null,
  };
  await deps.store.grants.create(grant);
  await deps.audit.record('grant.created', { userId: wanted.userId, clientId: wanted.clientId, grantId: grant.id, ip: context.ip, detail: { grant_type: grantType } });
  return grant;
}

/**
 * Mints an access token for `scope` and, when asked, a refresh token whose idle expiry never passes the grant's
 * absolute end. The refresh token keeps `refreshScope` (RFC 6749 §6: a narrowed request does not shrink the chain).
 * With `secrets`, the refresh token and the access token's `jti` are those (refresh-replay.ts), not random ones.
 */
export async function issueTokens(
  deps: GrantDeps,
  request: { grant: GrantRecord; scope: string; refreshScope: string; withRefreshToken: boolean; now: number; secrets?: ReplaySecrets },
): Promise<IssuedTokens> {
  const { grant, scope, now, secrets } = request;
  const refreshToken = request.withRefreshToken ? (secrets?.refreshToken ?? issueToken('refreshToken', now)) : undefined;
  const access = await deps.accessTokens.issue(accessTokenRequest(grant, scope), secrets?.jti);
  const json = tokenResponseJson(access.token, access.expiresIn, scope, refreshToken);
  if (refreshToken === undefined) return { json, accessToken: access.copy };
  return {
    json,
    accessToken: access.copy,
    refreshToken: {
      tokenHash: refreshTokenKey(deps.keys.tokenHasher, refreshToken),
      grantId: grant.id,
      scope: request.refreshScope,
      createdAt: now,
      expiresAt: Math.min(now + deps.config.oauth.refreshTokenIdleSeconds * 1000, grant.expiresAt),
      rotatedAt: null,
      replayResponse: null,
    },
  };
}

/** What an access token of `grant` for `scope` is issued for. */
export const accessTokenRequest = (grant: GrantRecord, scope: string): AccessTokenRequest => ({
  grantId: grant.id,
  userId: grant.userId,
  clientId: grant.clientId,
  scope,
  resource: grant.resource,
});

/**
 * The JSON of a token response (RFC 6749 §5.1), its members in one order: a grace replay rebuilds
 * it byte for byte. The tokens are ours, base64url and dots, which JSON never escapes: only the scope goes through
 * `JSON.stringify`, which would otherwise scan the access token's ~700 characters on every grant.
 */
export function tokenResponseJson(accessToken: string, expiresIn: number, scope: string, refreshToken: string | undefined): string {
  const refresh = refreshToken === undefined ? '' : `,"refresh_token":"${refreshToken}"`;
  return `{"access_token":"${accessToken}","token_type":"Bearer","expires_in":${expiresIn},"scope":${JSON.stringify(scope)}${refresh}}`;
}

/** Sends the serialised body unchanged. */
export function sendTokenResponse(reply: FastifyReply, json: string): FastifyReply {
  return reply.code(200).type('application/json; charset=utf-8').send(json);
}
