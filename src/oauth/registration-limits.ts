import type { Config } from '../config.js';
import type { KeyedHasher } from '../crypto/keyed-hash.js';
import { issueToken, newId } from '../crypto/random.js';
import type { InitialAccessTokenStore, RateWindowStore } from '../store/index.js';
import { OAuthError } from './errors.js';
import { bearerToken } from '../http/authorization-header.js';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** The longest counting window (registrations, per UTC day); a rate window older than this is dead. */
export const REGISTRATION_WINDOW_MS = DAY_MS;
export const DEFAULT_INITIAL_ACCESS_TOKEN_SECONDS = 24 * 3600;

/** Caps on registration (per client IP and overall, per UTC day) and the closed policy's initial access tokens. */
export interface RegistrationLimits {
  /** Closed policy: spends the single-use initial access token the request carries, or refuses it (401). */
  spendInitialAccessToken(authorization: string | undefined, now: number): Promise<void>;
  /** Counts one registration from `ip`; over either cap, a 429 with Retry-After until the day's window ends. */
  countRegistration(ip: string, now: number): Promise<void>;
  /**
   * Counts one Client ID Metadata Document fetch made for `ip` (per hour), and, when the client_id is new here
   * (`firstTime`), one registration too: a document stands in for a registration, so it is capped like one.
   */
  countMetadataDocumentFetch(ip: string, now: number, firstTime: boolean): Promise<void>;
}

export type RegistrationLimitSettings = Pick<Config['oauth'], 'registrationsPerIpPerDay' | 'registrationsPerDay' | 'metadataDocumentFetchesPerIpPerHour'>;

export function registrationLimits(deps: {
  rateWindows: RateWindowStore;
  initialAccessTokens: InitialAccessTokenStore;
  hasher: KeyedHasher;
  oauth: RegistrationLimitSettings;
}): RegistrationLimits {
  const { rateWindows, initialAccessTokens, hasher, oauth } = deps;

  function limitReached(what: string, windowStart: number, windowMs: number, now: number): OAuthError {
    const retryAfter = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
    return new OAuthError('invalid_request', `${what}; try again later`, 429, { 'retry-after': String(retryAfter) });
  }

  async function countRegistration(ip: string, now: number): Promise<void> {
    const windowStart = Math.floor(now / DAY_MS) * DAY_MS;
    // The per-IP cap is checked first, so one address cannot use up the global allowance beyond its own share.
    if ((await rateWindows.hit(`registration:ip:${ip}`, windowStart)) > oauth.registrationsPerIpPerDay) {
      throw limitReached('registration limit reached (per client address per day)', windowStart, DAY_MS, now);
    }
    if ((await rateWindows.hit('registration:all', windowStart)) > oauth.registrationsPerDay) {
      throw limitReached('registration limit reached (for this server per day)', windowStart, DAY_MS, now);
    }
  }

  return {
    async spendInitialAccessToken(authorization, now) {
      const token = bearerToken(authorization);
      const refused = () =>
        new OAuthError('invalid_token', 'registration needs a valid initial access token (Authorization: Bearer)', 401, {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      if (!token) throw refused();
      // consume() is a compare-and-set: of two requests with one token, exactly one gets through.
      for (const candidate of hasher.candidates(token)) {
        if (await initialAccessTokens.consume(candidate, now)) return;
      }
      throw refused();
    },

    countRegistration,

    async countMetadataDocumentFetch(ip, now, firstTime) {
      const windowStart = Math.floor(now / HOUR_MS) * HOUR_MS;
      if ((await rateWindows.hit(`metadata-document-fetch:ip:${ip}`, windowStart)) > oauth.metadataDocumentFetchesPerIpPerHour) {
        throw limitReached('client metadata document fetch limit reached (per client address per hour)', windowStart, HOUR_MS, now);
      }
      if (firstTime) await countRegistration(ip, now);
    },
  };
}

/** Creates a single-use initial access token; only its keyed hash is stored, the token is returned this once. */
export async function issueInitialAccessToken(
  deps: { initialAccessTokens: InitialAccessTokenStore; hasher: KeyedHasher },
  options: { createdBy: string | null; expiresInSeconds?: number; now: number },
): Promise<{ id: string; token: string; expiresAt: number }> {
  const token = issueToken('initialAccessToken');
  const id = newId('iat');
  const expiresAt = options.now + (options.expiresInSeconds ?? DEFAULT_INITIAL_ACCESS_TOKEN_SECONDS) * 1000;
  await deps.initialAccessTokens.create({
    id,
    tokenHash: deps.hasher.hash(token),
    createdBy: options.createdBy,
    createdAt: options.now,
    expiresAt,
    usedAt: null,
    revokedAt: null,
  });
  return { id, token, expiresAt };
}
