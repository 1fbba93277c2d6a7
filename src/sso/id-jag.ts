import { createRemoteJWKSet, customFetch, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isBoundResource } from '../net/resource-uri.js';
import type { IdJagReplayStore, UserRecord, UserStore } from '../store/index.js';
import { outboundFetch } from '../upstream/oauth/outbound-fetch.js';
import type { OutboundHttpOptions } from '../upstream/oauth/types.js';
import { provisionUser } from './provisioning.js';
import type { IdentityClaims, RelyingParty } from './relying-party.js';
import { SsoSignInError } from './sign-in-errors.js';

/**
 * Identity Assertion JWT Authorization Grants (ID-JAG; draft-ietf-oauth-identity-assertion-authz-grant, the MCP
 * "Enterprise-Managed Authorization" extension) as the resource authorization server verifies them: a JWT that a
 * trusted company IdP signed for one person, one client and Gatehouse. Every JOSE step is jose's; the IdP's keys
 * come from the jwks_uri of its discovery document, fetched behind the SSRF guard.
 */

/** Draft §3.1: the `typ` header an ID-JAG carries, so no other JWT of the IdP (an ID token) passes as one. */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';

/** The asymmetric algorithms accepted: never `none`, never a MAC keyed with something an outsider may know. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 30;

/** Why an assertion was refused: the token endpoint answers `invalid_grant` with `message`. */
export class IdJagError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IdJagError';
  }
}

/** What the token endpoint expects of an assertion. */
export interface IdJagExpectations {
  /** Gatehouse's issuer identifier (draft §4.3: the ID-JAG's `aud`). */
  audience: string;
  /** The protected resource the token is for: Gatehouse's /mcp. */
  resource: string;
  /** The client that authenticated at the token endpoint (draft §4.3: must be the `client_id` claim). */
  clientId: string;
}

export interface RedeemedIdJag {
  user: UserRecord;
  claims: JWTPayload & IdentityClaims;
  providerId: string;
}

export interface IdJagVerifier {
  /** True when some provider is trusted for ID-JAG (the grant is advertised and accepted). */
  readonly enabled: boolean;
  /** Verifies the assertion, uses up its `jti`, and maps its subject to the user keyed by (issuer, sub). */
  redeem(assertion: string, expected: IdJagExpectations): Promise<RedeemedIdJag>;
}

/** A trusted IdP, its keys resolved on first use. */
interface TrustedIssuer {
  party: RelyingParty;
  keys?: JWTVerifyGetKey;
}

export function idJagVerifier(
  deps: { parties: Iterable<RelyingParty>; http: OutboundHttpOptions; replay: IdJagReplayStore; users: UserStore },
  now: () => number = Date.now,
): IdJagVerifier {
  const trusted = new Map<string, TrustedIssuer>();
  for (const party of deps.parties) if (party.provider.trust_id_jag) trusted.set(party.provider.issuer, { party });
  const fetchJwks = outboundFetch(deps.http);

  /** Step: the configured IdP whose issuer the (not yet verified) assertion names; nothing is fetched for others. */
  function trustedIssuerOf(assertion: string): TrustedIssuer {
    let issuer: unknown;
    try {
      issuer = decodeJwt(assertion).iss;
    } catch (error) {
      throw new IdJagError('the assertion is not a JWT', { cause: error });
    }
    const entry = typeof issuer === 'string' ? trusted.get(issuer) : undefined;
    if (!entry) throw new IdJagError('the assertion is not from an issuer trusted for ID-JAG');
    return entry;
  }

  /** Step: the IdP's signing keys, from the jwks_uri of its discovery document; jose refetches on an unknown `kid`. */
  async function keysOf(entry: TrustedIssuer): Promise<JWTVerifyGetKey> {
    if (entry.keys) return entry.keys;
    let jwksUri: string | undefined;
    try {
      jwksUri = (await entry.party.metadata()).jwks_uri;
    } catch (error) {
      throw new IdJagError('the issuer\u2019s keys could not be fetched', { cause: error });
    }
    if (!jwksUri) throw new IdJagError('the issuer publishes no jwks_uri');
    entry.keys = createRemoteJWKSet(new URL(jwksUri), {
      [customFetch]: (url, init) => fetchJwks(url, { method: 'GET', headers: Object.fromEntries(init.headers), redirect: 'manual' }),
    });
    return entry.keys;
  }

  /** Step: draft §4.3 and RFC 7523 §3: signature, typ, iss, aud, exp (and nbf), and the claims the grant needs. */
  async function verified(assertion: string, entry: TrustedIssuer, expected: IdJagExpectations): Promise<JWTPayload & IdentityClaims> {
    try {
      const { payload } = await jwtVerify(assertion, await keysOf(entry), {
        typ: ID_JAG_TYP,
        issuer: entry.party.provider.issuer,
        audience: expected.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now()),
      });
      return payload as JWTPayload & IdentityClaims;
    } catch (error) {
      if (error instanceof IdJagError) throw error;
      throw new IdJagError(verificationFailure(error), { cause: error });
    }
  }

  /** Step: the assertion was issued to the client presenting it, for Gatehouse's /mcp. */
  function checkBinding(claims: JWTPayload, expected: IdJagExpectations): void {
    if (claims.client_id !== expected.clientId) throw new IdJagError('the assertion was issued to another client');
    if (claims.resource !== undefined && (typeof claims.resource !== 'string' || !isBoundResource(claims.resource, expected.resource))) {
      throw new IdJagError('the assertion is for another resource');
    }
  }

  /** Step: each assertion once (RFC 7523 §3 item 7), on every replica: its `jti` is kept until it expires. */
  async function useOnce(claims: JWTPayload & IdentityClaims): Promise<void> {
    if (typeof claims.jti !== 'string' || claims.jti.length === 0) throw new IdJagError('the assertion has no jti');
    const first = await deps.replay.remember(claims.iss, claims.jti, claims.exp! * 1000 + CLOCK_TOLERANCE_SECONDS * 1000);
    if (!first) throw new IdJagError('the assertion was already used');
  }

  /**
   * Step: the person, keyed by (issuer, sub) as company sign-in keys them. An assertion without the groups claim
   * keeps the groups of their last sign-in (it is no word from the IdP that they left them).
   */
  async function userFor(entry: TrustedIssuer, claims: JWTPayload & IdentityClaims): Promise<UserRecord> {
    const provider = entry.party.provider;
    const known = await deps.users.findByExternalIdentity(claims.iss, claims.sub);
    const withGroups = provider.groups_claim in claims ? claims : { ...claims, [provider.groups_claim]: known?.groups ?? [] };
    try {
      return await provisionUser(deps.users, provider, withGroups, now);
    } catch (error) {
      if (error instanceof SsoSignInError) throw new IdJagError(refusalOf(error), { cause: error });
      throw error;
    }
  }

  return {
    enabled: trusted.size > 0,
    async redeem(assertion, expected) {
      const entry = trustedIssuerOf(assertion);
      const claims = await verified(assertion, entry, expected);
      checkBinding(claims, expected);
      await useOnce(claims);
      const user = await userFor(entry, claims);
      return { user, claims, providerId: entry.party.provider.id };
    },
  };
}

/** A jose failure in words for the client: which check failed, never the keys or the assertion. */
function verificationFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the assertion has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the assertion's ${error.claim} claim is not acceptable`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) return 'the assertion\u2019s signature does not verify';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the assertion\u2019s algorithm is not accepted';
  if (error instanceof joseErrors.JOSEError) return `the assertion is not acceptable (${error.code})`;
  return 'the issuer\u2019s keys could not be fetched';
}

function refusalOf(error: SsoSignInError): string {
  if (error.kind === 'not_allowed') return 'the person is in none of the allowed groups';
  if (error.kind === 'account_disabled') return 'the person\u2019s account is disabled';
  return 'no Gatehouse account can be made for the person';
}
