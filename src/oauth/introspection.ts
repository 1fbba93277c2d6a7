import { decodeJwt } from 'jose';
import { hasTokenShape } from '../crypto/random.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { findActiveUser } from '../identity/active-user.js';
import type { OpenedStore, RefreshTokenRecord } from '../store/index.js';
import { liveGrant, type AccessTokenClaims, type AccessTokenService } from './access-tokens.js';
import { gatewayResource, resolveResource, virtualServerExists } from './resource.js';
import { findRefreshTokenWithGrant } from './token-response.js';

/** What telling a token apart and introspecting it use: the token stores, the hasher, the verifier, the issuer. */
export interface IntrospectionDeps {
  config: Pick<Config, 'publicUrl'>;
  store: Pick<OpenedStore, 'grants' | 'refreshTokens' | 'users' | 'virtualServers'>;
  keys: Pick<KeyRing, 'tokenHasher'>;
  accessTokens: Pick<AccessTokenService, 'verify'>;
}

/** A token presented to revocation or introspection, as this server knows it. */
export type PresentedToken =
  | { type: 'refresh_token'; refreshToken: RefreshTokenRecord; clientId: string; grantId: string }
  | { type: 'access_token'; claims: AccessTokenClaims; clientId: string; grantId: string };

/**
 * Identifies a token by its shape: refresh tokens carry the `gth_rt_` prefix, anything else must be an access
 * token this server signed for its /mcp resource. `token_type_hint` is not needed (RFC 7009 §2.1 lets the
 * server search on its own). Undefined for unknown, malformed, foreign or expired access tokens.
 */
export async function identifyToken(deps: IntrospectionDeps, token: string): Promise<PresentedToken | undefined> {
  if (hasTokenShape(token, 'refreshToken')) {
    const found = await findRefreshTokenWithGrant(deps, token);
    return found && { type: 'refresh_token', refreshToken: found.token, clientId: found.grant.clientId, grantId: found.grant.id };
  }
  const claims = await deps.accessTokens.verify(token, await audienceOf(deps, token));
  return claims && { type: 'access_token', claims, clientId: claims.client_id, grantId: claims.gid };
}

/**
 * The resource a token says it is for, when that is one of ours (/mcp, or a virtual server's /mcp/{name} that exists);
 * /mcp's otherwise. Read before verification only to pick the audience that verification then requires.
 */
async function audienceOf(deps: IntrospectionDeps, token: string): Promise<string> {
  let audience: unknown;
  try {
    audience = decodeJwt(token).aud;
  } catch {
    audience = undefined;
  }
  const ours = typeof audience === 'string' ? await resolveResource(audience, deps.config.publicUrl, virtualServerExists(deps.store.virtualServers)) : undefined;
  return ours ?? gatewayResource(deps.config.publicUrl);
}

/** RFC 7662 §2.2 response; `{active: false}` says nothing more, whatever the reason. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      aud: string;
      iss: string;
      exp: number;
      iat: number;
      token_type: PresentedToken['type'];
      username: string;
    };

const inactive = { active: false } as const;
const seconds = (ms: number) => Math.floor(ms / 1000);

/** A refresh token is active until rotated or expired (an access token's lifetime was checked when it verified). */
function isUnspent(token: PresentedToken, now: number): boolean {
  if (token.type !== 'refresh_token') return true;
  return token.refreshToken.rotatedAt === null && token.refreshToken.expiresAt > now;
}

/**
 * The state of a token for a caller allowed to see it (`callerClientId` undefined: an admin sees any token;
 * a client sees only its own). Active only while the token and its grant are live and its user is enabled.
 */
export async function introspect(
  deps: IntrospectionDeps,
  token: string,
  callerClientId: string | undefined,
  now: number,
): Promise<IntrospectionResponse> {
  const presented = await identifyToken(deps, token);
  if (!presented) return inactive;
  if (callerClientId !== undefined && presented.clientId !== callerClientId) return inactive;
  const grant = await liveGrant(deps.store, presented.grantId, now);
  if (!grant || grant.clientId !== presented.clientId || !isUnspent(presented, now)) return inactive;
  const user = await findActiveUser(deps.store.users, grant.userId);
  if (!user) return inactive;
  const common = { active: true, client_id: grant.clientId, sub: grant.userId, iss: deps.config.publicUrl, username: user.username } as const;
  if (presented.type === 'access_token') {
    const { claims } = presented;
    return { ...common, scope: claims.scope, aud: claims.aud, exp: claims.exp, iat: claims.iat, token_type: 'access_token' };
  }
  const { refreshToken } = presented;
  return {
    ...common,
    scope: refreshToken.scope,
    aud: grant.resource,
    exp: seconds(refreshToken.expiresAt),
    iat: seconds(refreshToken.createdAt),
    token_type: 'refresh_token',
  };
}
