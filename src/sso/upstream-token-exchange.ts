import type { AuditLog } from '../audit/audit-log.js';
import { canonicalResource } from '../net/resource-uri.js';
import type { SsoIdentityTokenStore } from '../store/index.js';
import { firstUsableBearer, type BearerSource } from '../upstream/oauth/bearer-fetch.js';
import { NeedsAuthorization } from '../upstream/oauth/token-vault.js';
import type { Upstream, UpstreamSettings } from '../upstream/types.js';
import { SignInAgain, type IdentityTokens } from './identity-tokens.js';
import type { RelyingParty } from './relying-party.js';
import { SsoSignInError } from './sign-in-errors.js';

/**
 * Upstreams with auth_type `token_exchange`: each user's token for the upstream is obtained by RFC 8693 token
 * exchange at the company IdP, the user's own IdP access token (from their sign-in) as the subject and the upstream as
 * audience and resource, and cached per user until it expires. When no token can be had, the user is asked to sign in
 * again through the company IdP (NeedsSignIn), and the audit says so (`upstream.needs_auth`).
 */

/** Used this long before its expiry, no longer. */
const EXPIRY_MARGIN_MS = 30_000;
/** When the IdP gives no `expires_in`. */
const ASSUMED_LIFETIME_MS = 5 * 60_000;

/** The user has no usable company sign-in for this upstream: `signInUrl` starts a new one. */
export class NeedsSignIn extends NeedsAuthorization {
  constructor(
    upstreamId: string,
    subject: string,
    reason: string,
    readonly signInUrl: string,
    readonly providerName: string,
    options?: ErrorOptions,
  ) {
    super(upstreamId, subject, reason, options);
    this.name = 'NeedsSignIn';
  }
}

export interface UpstreamTokenExchange {
  /** The token source of `userId`'s connection to a `token_exchange` upstream. */
  bearer(upstream: Upstream, userId: string): BearerSource;
  /** For the upstream's shared listing connection: the exchanged token of whichever user signed in most recently. */
  listingBearer(upstreamId: string, settings: UpstreamSettings): BearerSource;
  /** Drops the user's exchanged tokens (they signed in anew): the next call exchanges their new IdP token. */
  forget(userId: string): void;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export function upstreamTokenExchange(
  deps: {
    parties: ReadonlyMap<string, RelyingParty>;
    identityTokens: IdentityTokens;
    store: Pick<SsoIdentityTokenStore, 'recentUsers'>;
    audit: AuditLog;
    publicUrl: string;
  },
  now: () => number = Date.now,
): UpstreamTokenExchange {
  /** Exchanged tokens by user, then upstream. */
  const cache = new Map<string, Map<string, CachedToken>>();
  const cached = (upstreamId: string, userId: string) => cache.get(userId)?.get(upstreamId);

  function partyOf(upstreamId: string, userId: string, settings: UpstreamSettings): RelyingParty {
    const providerId = settings.token_exchange?.provider ?? '';
    const party = deps.parties.get(providerId);
    if (!party) throw new NeedsAuthorization(upstreamId, userId, `no sso provider "${providerId}" is configured for its token exchange`);
    return party;
  }

  /** A refusal: audited, and the user asked to sign in again through the provider. */
  async function signInAgain(upstreamId: string, userId: string, party: RelyingParty, reason: string, cause: unknown): Promise<never> {
    await deps.audit.record('upstream.needs_auth', { userId, detail: { upstream_id: upstreamId, reason, token_exchange: party.provider.id } }).catch(() => undefined);
    const signInUrl = `${deps.publicUrl}/login/oidc/${party.provider.id}?next=${encodeURIComponent('/account/apps')}`;
    throw new NeedsSignIn(upstreamId, userId, reason, signInUrl, party.provider.name, { cause });
  }

  /** RFC 8693 §2.1 at the IdP; the answer cached until shortly before it expires. */
  async function exchange(upstreamId: string, userId: string, settings: UpstreamSettings): Promise<string> {
    const party = partyOf(upstreamId, userId, settings);
    const resource = canonicalResource(settings.connection_string!);
    try {
      const subjectToken = await deps.identityTokens.accessToken(userId, party);
      const scope = settings.token_exchange?.scopes?.join(' ');
      const tokens = await party.exchange({ subjectToken, audience: settings.token_exchange?.audience ?? resource, resource, ...(scope ? { scope } : {}) });
      const expiresAt = now() + (tokens.expiresIn !== undefined ? tokens.expiresIn * 1000 : ASSUMED_LIFETIME_MS);
      cache.set(userId, (cache.get(userId) ?? new Map<string, CachedToken>()).set(upstreamId, { token: tokens.accessToken, expiresAt }));
      return tokens.accessToken;
    } catch (error) {
      if (error instanceof SignInAgain) return signInAgain(upstreamId, userId, party, error.reason, error);
      // Unreachable: the upstream is unavailable for now, signing in again would not help.
      if (error instanceof SsoSignInError && error.kind === 'provider_unavailable') throw new Error('the company IdP could not be reached for the token exchange', { cause: error });
      if (error instanceof SsoSignInError) return signInAgain(upstreamId, userId, party, `the IdP did not exchange the token (${error.kind})`, error);
      throw error;
    }
  }

  function tokenOf(upstreamId: string, userId: string, settings: UpstreamSettings): Promise<string> {
    const held = cached(upstreamId, userId);
    if (held && held.expiresAt - EXPIRY_MARGIN_MS > now()) return Promise.resolve(held.token);
    return exchange(upstreamId, userId, settings);
  }

  function renewed(upstreamId: string, userId: string, settings: UpstreamSettings, stale: string): Promise<string> {
    // The upstream refused it: never offered again, whoever asks.
    if (cached(upstreamId, userId)?.token === stale) cache.get(userId)!.delete(upstreamId);
    return tokenOf(upstreamId, userId, settings);
  }

  const bearerOf = (upstreamId: string, userId: string, settings: UpstreamSettings): BearerSource => ({
    token: () => tokenOf(upstreamId, userId, settings),
    renew: (stale) => renewed(upstreamId, userId, settings, stale),
  });

  return {
    forget: (userId) => void cache.delete(userId),
    bearer: (upstream, userId) => bearerOf(upstream.id, userId, upstream.settings),
    listingBearer(upstreamId, settings) {
      return firstUsableBearer({
        upstreamId,
        subjects: () => deps.store.recentUsers(settings.token_exchange?.provider ?? '', 5),
        bearer: (userId) => bearerOf(upstreamId, userId, settings),
        none: 'no user has signed in through its token exchange provider yet',
      });
    },
  };
}
