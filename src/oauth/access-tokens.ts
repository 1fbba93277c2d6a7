import { jwtVerify, type JWTHeaderParameters } from 'jose';
import { z } from 'zod';
import type { Config } from '../config.js';
import { threadpoolSigner, type Es256Signer } from '../crypto/es256-signer.js';
import { encodeJoseHeader, jwsSigningInput, signEs256Jws } from '../crypto/jws.js';
import { newId } from '../crypto/random.js';
import { SIGNING_ALG, type SigningKeyRing } from '../crypto/signing-keys.js';
import type { GrantRecord, GrantStore } from '../store/index.js';

/** Tolerated clock difference between replicas (and other verifiers) for `exp`, `nbf` and `iat`. */
export const CLOCK_SKEW_SECONDS = 30;

/**
 * Tokens whose signature already verified, with their claims: a client sends the same token on every request of its
 * lifetime, and an ES256 verification costs more than the rest of the guard. Bounded; the oldest go first.
 */
export const VERIFIED_TOKEN_CACHE_SIZE = 4096;

/** RFC 9068 §2.1: the media type of an access token JWT. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** A retired signing key stays published until the last token it signed has expired, skew included. */
export function retiredKeyLifetimeMs(config: Config): number {
  return (config.oauth.accessTokenTtlSeconds + CLOCK_SKEW_SECONDS) * 1000;
}

const claimsSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  aud: z.string(),
  client_id: z.string(),
  scope: z.string(),
  jti: z.string(),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  /** The grant the token was issued from: a revoked grant stops its tokens before they expire. */
  gid: z.string(),
});

export type AccessTokenClaims = z.infer<typeof claimsSchema>;

export interface AccessTokenRequest {
  grantId: string;
  userId: string;
  clientId: string;
  scope: string;
  resource: string;
}

/**
 * What rebuilds an issued token byte for byte, given its `jti` (the refresh grant's grace replay: refresh-replay.ts).
 * Not a credential without that jti: the signature covers it.
 */
export interface AccessTokenCopy {
  kid: string;
  iat: number;
  exp: number;
  signature: string;
}

export interface AccessTokenService {
  /** A new token, with `jti` when given (else a random one); its copy for `rebuild`. */
  issue(request: AccessTokenRequest, jti?: string): Promise<{ token: string; expiresIn: number; copy: AccessTokenCopy }>;
  /** The token `issue` made for the same request and `jti`, from its copy: no signature is made. */
  rebuild(request: AccessTokenRequest, jti: string, copy: AccessTokenCopy): string;
  /**
   * The claims of a token this server signed for `expectedAudience`, still in its lifetime; undefined for
   * anything else. Says nothing about the grant: check `isGrantLive` too.
   */
  verify(token: string, expectedAudience: string): Promise<AccessTokenClaims | undefined>;
}

/** `signer`: where signatures are made (the runtime's worker thread); by default libuv's threadpool. */
export function accessTokenService(
  deps: { config: Config; signingKeys: SigningKeyRing; signer?: Es256Signer },
  now: () => number = Date.now,
): AccessTokenService {
  const { config, signingKeys, signer = threadpoolSigner } = deps;
  const issuer = config.publicUrl;
  const ttl = config.oauth.accessTokenTtlSeconds;
  // The header only changes with the key.
  const encodedHeaders = new Map<string, string>();
  const encodedHeader = (kid: string) => {
    let header = encodedHeaders.get(kid);
    if (!header) {
      header = encodeJoseHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid });
      encodedHeaders.set(kid, header);
    }
    return header;
  };

  // Only keys of our own ring resolve; an unknown or missing kid fails verification.
  const resolveKey = async (header: JWTHeaderParameters) => {
    const key = header.kid ? await signingKeys.verificationKey(header.kid) : undefined;
    if (!key) throw new Error('unknown signing key');
    return key;
  };

  // Key: the token (its claims name its one audience, compared on every use). Signing keys leave the ring only after
  // their last token expired, so a verified signature stays valid; lifetime (exp, nbf) is checked again on every use.
  const verified = new Map<string, AccessTokenClaims>();
  const withinLifetime = (claims: AccessTokenClaims) => {
    const seconds = now() / 1000;
    return claims.exp + CLOCK_SKEW_SECONDS > seconds && claims.nbf - CLOCK_SKEW_SECONDS <= seconds;
  };
  // The members in one order, so that a rebuilt token is the issued one.
  const claimsOf = (request: AccessTokenRequest, jti: string, iat: number, exp: number): AccessTokenClaims => ({
    iss: issuer,
    sub: request.userId,
    aud: request.resource,
    client_id: request.clientId,
    scope: request.scope,
    jti,
    iat,
    nbf: iat,
    exp,
    gid: request.grantId,
  });
  const remember = (key: string, claims: AccessTokenClaims) => {
    if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(key, claims);
  };

  return {
    async issue(request, jti = newId('at')) {
      const key = await signingKeys.signingKey();
      const iat = Math.floor(now() / 1000);
      const token = await signEs256Jws(encodedHeader(key.kid), claimsOf(request, jti, iat, iat + ttl), key, signer);
      return { token, expiresIn: ttl, copy: { kid: key.kid, iat, exp: iat + ttl, signature: token.slice(token.lastIndexOf('.') + 1) } };
    },

    rebuild(request, jti, copy) {
      return `${jwsSigningInput(encodedHeader(copy.kid), claimsOf(request, jti, copy.iat, copy.exp))}.${copy.signature}`;
    },

    async verify(token, expectedAudience) {
      const known = verified.get(token);
      if (known) {
        if (withinLifetime(known)) return known.aud === expectedAudience ? known : undefined;
        verified.delete(token);
        return undefined;
      }
      try {
        const { payload } = await jwtVerify(token, resolveKey, {
          algorithms: [SIGNING_ALG],
          typ: ACCESS_TOKEN_TYP,
          issuer,
          audience: expectedAudience,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: new Date(now()),
          requiredClaims: ['exp', 'nbf', 'iat', 'sub', 'jti'],
        });
        const claims = claimsSchema.safeParse(payload);
        if (!claims.success) return undefined;
        remember(token, claims.data);
        return claims.data;
      } catch {
        return undefined;
      }
    },
  };
}

/** Not revoked, and its refresh chain has not reached its absolute end. */
export function isGrantRecordLive(grant: GrantRecord, now: number): boolean {
  return grant.revokedAt === null && grant.expiresAt > now;
}

/** The grant if it still exists and is live. */
export async function liveGrant(store: { grants: GrantStore }, grantId: string, now: number): Promise<GrantRecord | undefined> {
  const grant = await store.grants.find(grantId);
  return grant && isGrantRecordLive(grant, now) ? grant : undefined;
}

/** Checked on every use of an access token, so a revocation takes effect at once on every replica. */
export async function isGrantLive(store: { grants: GrantStore }, grantId: string, now: number): Promise<boolean> {
  return (await liveGrant(store, grantId, now)) !== undefined;
}
