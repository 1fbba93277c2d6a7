import { hasTokenShape } from '../crypto/random.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { ApiKeyService } from '../identity/api-keys.js';
import { findActiveUser, isActiveUser } from '../identity/active-user.js';
import type { CredentialCache } from '../identity/credential-cache.js';
import { isGrantRecordLive, type AccessTokenService } from '../oauth/access-tokens.js';
import { gatewayResource } from '../oauth/resource.js';
import { heldScopes, SUPPORTED_SCOPES } from '../oauth/scopes.js';
import type { GrantRecord, OpenedStore, UserRecord } from '../store/index.js';
import type { Principal } from './principal.js';
import { bearerToken } from '../http/authorization-header.js';

/** What the guard concluded about one /mcp request, before anything else looked at it. */
export type GuardOutcome =
  | { kind: 'caller'; principal: Principal; token: string; expiresAt?: number }
  /** No bearer credentials at all: the challenge carries no `error` (RFC 6750 §3.1). */
  | { kind: 'no_token' }
  | { kind: 'invalid_token'; description: string }
  /** RFC 6750 §2.3 (URI query parameter) is not supported: such a URL leaks the token into logs and history. */
  | { kind: 'token_in_query' };

export interface GuardInput {
  authorization: string | undefined;
  /** The request URL's query string (without `?`), or '' when there is none. */
  query: string;
  /** The resource (audience) a token must be for: /mcp's unless given (a virtual server's /mcp/{name}). */
  resource?: string;
}

/** What the guard checks credentials with: API keys, the token verifier, grants and users through the cache, the clock. */
export interface GuardDeps {
  config: Pick<Config, 'publicUrl'>;
  apiKeys: Pick<ApiKeyService, 'authenticate'>;
  accessTokens: Pick<AccessTokenService, 'verify'>;
  credentials: Pick<CredentialCache, 'get'>;
  store: Pick<OpenedStore, 'grants' | 'users'>;
  clock: Clock;
}

/** Everything an API key may do at /mcp: it stands for its user, like a token with every scope. */
const API_KEY_SCOPES: ReadonlySet<string> = new Set(SUPPORTED_SCOPES);

/**
 * Resolves the caller of an /mcp request, on every request (a session id never authenticates). A Gatehouse
 * access token must verify for this endpoint's canonical URL and its grant must be live. Grants and API keys are
 * read through the credential cache, which every replica empties when any of them is revoked (LISTEN/NOTIFY), so a
 * revocation stops the credential fleet-wide within a second (identity/credential-cache.ts).
 */
export function guardRequest(deps: GuardDeps, input: GuardInput): Promise<GuardOutcome> {
  // Not async: the credential's own check is returned as it is, not wrapped in one more promise (a turn of the
  // microtask queue and a promise on every request).
  if (input.query !== '' && new URLSearchParams(input.query).has('access_token')) return Promise.resolve({ kind: 'token_in_query' });
  const token = bearerToken(input.authorization);
  if (token === undefined) return Promise.resolve({ kind: 'no_token' });
  if (token === '') return Promise.resolve({ kind: 'invalid_token', description: 'the bearer token is empty' });
  return hasTokenShape(token, 'apiKey') ? apiKeyCaller(deps, token) : accessTokenCaller(deps, token, input.resource ?? gatewayResource(deps.config.publicUrl), deps.clock());
}

async function apiKeyCaller(deps: GuardDeps, token: string): Promise<GuardOutcome> {
  const found = await deps.apiKeys.authenticate(token);
  if (!found) return { kind: 'invalid_token', description: 'the API key is unknown, revoked, or its user is disabled' };
  const principal: Principal = {
    userId: found.user.id,
    username: found.user.username,
    groups: found.user.groups,
    clientId: null,
    apiKeyId: found.key.id,
    grantId: null,
    scopes: API_KEY_SCOPES,
    via: 'api_key',
  };
  return { kind: 'caller', principal, token };
}

/** One refusal for every way an access token fails: the client learns no more than that. */
const invalid: GuardOutcome = Object.freeze({ kind: 'invalid_token', description: 'the access token is invalid, expired, revoked, or not for this resource' });

async function accessTokenCaller(deps: GuardDeps, token: string, resource: string, at: number): Promise<GuardOutcome> {
  // Signature against our key ring, iss, aud = this endpoint (a token for /mcp is not one for /mcp/{name}, nor the reverse), exp/nbf, typ at+jwt.
  const claims = await deps.accessTokens.verify(token, resource);
  if (!claims) return invalid;
  const holder = await deps.credentials.get(`grant:${claims.gid}`, () => grantWithUser(deps, claims.gid));
  if (!holder || !isGrantRecordLive(holder.grant, at) || holder.grant.userId !== claims.sub || holder.grant.clientId !== claims.client_id) return invalid;
  const { grant, user } = holder;
  if (!isActiveUser(user)) return invalid;
  const principal: Principal = {
    userId: user.id,
    username: user.username,
    groups: user.groups,
    clientId: claims.client_id,
    grantId: grant.id,
    scopes: heldScopes(claims.scope),
    via: 'access_token',
  };
  return { kind: 'caller', principal, token, expiresAt: claims.exp };
}

/** The grant and the user it was given by, while both are usable (a miss is not cached). */
async function grantWithUser(deps: GuardDeps, grantId: string): Promise<{ grant: GrantRecord; user: UserRecord } | undefined> {
  const grant = await deps.store.grants.find(grantId);
  if (!grant || grant.revokedAt !== null) return undefined;
  const user = await findActiveUser(deps.store.users, grant.userId);
  return user && { grant, user };
}
