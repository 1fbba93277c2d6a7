import { open, seal } from '../crypto/aead.js';
import type { SsoIdentityTokenStore } from '../store/index.js';
import type { IdpTokens, RelyingParty } from './relying-party.js';
import { SsoSignInError } from './sign-in-errors.js';

/**
 * Each SSO user's tokens at their IdP, from their last sign-in: the subject of RFC 8693 exchanges toward upstreams
 * that trust the same IdP. Sealed at rest (AES-256-GCM, bound to the user id), refreshed with the refresh token
 * ahead of expiry; a refused refresh forgets them, and the user must sign in again.
 */

/** Refreshed this long before the IdP said the access token expires. */
const REFRESH_AHEAD_MS = 60_000;
/** When the IdP gives no `expires_in`: assumed short, so a refresh (if possible) comes soon. */
const ASSUMED_LIFETIME_MS = 5 * 60_000;

/** No usable IdP token for the user: they must sign in again through company sign-in. */
export class SignInAgain extends Error {
  constructor(
    readonly providerId: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`sign in again through ${providerId}: ${reason}`, options);
    this.name = 'SignInAgain';
  }
}

interface SealedTokens {
  accessToken: string;
  refreshToken?: string;
}

export interface IdentityTokens {
  /** Keeps the tokens of a sign-in (replacing the earlier ones). */
  keep(userId: string, providerId: string, tokens: IdpTokens): Promise<void>;
  /** The user's access token at `party`'s IdP, refreshed when due; SignInAgain when there is none to be had. */
  accessToken(userId: string, party: RelyingParty): Promise<string>;
  /** Calls `listener` whenever a sign-in's tokens are kept. */
  onSignIn(listener: (userId: string, providerId: string) => void): void;
}

export function identityTokens(deps: { store: SsoIdentityTokenStore; encryptionKey: Buffer }, now: () => number = Date.now): IdentityTokens {
  const context = (userId: string) => `sso-identity-tokens:${userId}`;
  /** One refresh per user at a time in this process: concurrent calls wait for it. */
  const refreshing = new Map<string, Promise<string>>();
  const listeners: ((userId: string, providerId: string) => void)[] = [];

  async function keep(userId: string, providerId: string, tokens: IdpTokens): Promise<void> {
    const sealed: SealedTokens = { accessToken: tokens.accessToken, ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}) };
    const at = now();
    await deps.store.put({
      userId,
      providerId,
      sealed: seal(deps.encryptionKey, JSON.stringify(sealed), context(userId)),
      expiresAt: at + (tokens.expiresIn !== undefined ? tokens.expiresIn * 1000 : ASSUMED_LIFETIME_MS),
      updatedAt: at,
    });
  }

  async function refresh(userId: string, party: RelyingParty, refreshToken: string): Promise<string> {
    try {
      const tokens = await party.refresh(refreshToken);
      // RFC 6749 §6: a server that does not rotate refresh tokens keeps the old one valid.
      await keep(userId, party.provider.id, { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken });
      return tokens.accessToken;
    } catch (error) {
      // An IdP that cannot be reached says nothing of the sign-in: the error stands, the tokens stay for a later try.
      if (!(error instanceof SsoSignInError) || error.kind === 'provider_unavailable') throw error;
      // Refused (invalid_grant): the tokens are forgotten.
      await deps.store.delete(userId);
      throw new SignInAgain(party.provider.id, `the IdP did not refresh the sign-in (${error.kind})`, { cause: error });
    }
  }

  return {
    async keep(userId, providerId, tokens) {
      await keep(userId, providerId, tokens);
      for (const listener of listeners) listener(userId, providerId);
    },
    onSignIn: (listener) => void listeners.push(listener),
    async accessToken(userId, party) {
      const record = await deps.store.find(userId);
      if (!record) throw new SignInAgain(party.provider.id, 'no sign-in through the company IdP is on record');
      if (record.providerId !== party.provider.id) throw new SignInAgain(party.provider.id, `the last sign-in was through ${record.providerId}`);
      const tokens = JSON.parse(open(deps.encryptionKey, record.sealed, context(userId))) as SealedTokens;
      if (record.expiresAt - REFRESH_AHEAD_MS > now()) return tokens.accessToken;
      if (!tokens.refreshToken) throw new SignInAgain(party.provider.id, 'the IdP token expired and there is no refresh token');
      let pending = refreshing.get(userId);
      if (!pending) {
        pending = refresh(userId, party, tokens.refreshToken).finally(() => refreshing.delete(userId));
        refreshing.set(userId, pending);
      }
      return pending;
    },
  };
}
