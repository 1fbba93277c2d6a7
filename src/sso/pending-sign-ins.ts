import type { FastifyReply, FastifyRequest } from 'fastify';
import { generateRandomCodeVerifier, generateRandomNonce, generateRandomState } from 'oauth4webapi';
import type { Config } from '../config.js';
import { open, seal } from '../crypto/aead.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { hasTokenShape, issueToken } from '../crypto/random.js';
import type { Store } from '../store/index.js';
import type { SignInSecrets } from './relying-party.js';

/**
 * Sign-ins at an IdP in progress. The state, nonce and PKCE verifier never leave the server: the row is sealed,
 * keyed by the hash of a random token that only this browser's HttpOnly, SameSite=Lax cookie holds (Lax: the
 * IdP's top-level redirect back carries it). Short-lived and single use: the callback consumes it first.
 */

/** How long a sign-in at the IdP may take: its row and its cookie end together. */
const SSO_SIGN_IN_TTL_MS = 10 * 60 * 1000;

export interface PendingSignIn extends SignInSecrets {
  providerId: string;
  /** A safe local path to land on afterwards. */
  next?: string;
}

export interface PendingSignIns {
  /** Fresh secrets for a sign-in at `providerId`, stored and bound to this browser by the cookie. */
  begin(reply: FastifyReply, providerId: string, next: string | undefined): Promise<PendingSignIn>;
  /** This browser's pending sign-in, removed so that it cannot be used again; undefined when there is none. */
  take(request: FastifyRequest, reply: FastifyReply): Promise<PendingSignIn | undefined>;
}

const sealContext = (browserHash: string) => `sso-sign-in:${browserHash}`;

export function pendingSignIns(
  { config, store, keys }: { config: Pick<Config, 'secureCookies'>; store: Pick<Store, 'ssoSignIns'>; keys: Pick<KeyRing, 'tokenHasher' | 'encryptionKey'> },
  now: () => number = Date.now,
): PendingSignIns {
  const cookieName = config.secureCookies ? '__Host-gatehouse_sso' : 'gatehouse_sso';
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secureCookies } as const;
  return {
    async begin(reply, providerId, next) {
      const pending: PendingSignIn = {
        providerId,
        state: generateRandomState(),
        nonce: generateRandomNonce(),
        codeVerifier: generateRandomCodeVerifier(),
        ...(next ? { next } : {}),
      };
      const token = issueToken('ssoSignIn');
      const browserHash = keys.tokenHasher.hash(token);
      const at = now();
      await store.ssoSignIns.put({
        browserHash,
        providerId,
        sealed: seal(keys.encryptionKey, JSON.stringify(pending), sealContext(browserHash)),
        createdAt: at,
        expiresAt: at + SSO_SIGN_IN_TTL_MS,
      });
      reply.setCookie(cookieName, token, { ...cookieOptions, maxAge: SSO_SIGN_IN_TTL_MS / 1000 });
      return pending;
    },
    async take(request, reply) {
      const token = request.cookies[cookieName];
      reply.clearCookie(cookieName, cookieOptions);
      if (!token || !hasTokenShape(token, 'ssoSignIn')) return undefined;
      // Every pepper version, newest first, so a sign-in survives a pepper rotation.
      for (const browserHash of keys.tokenHasher.candidates(token)) {
        const found = await store.ssoSignIns.consume(browserHash, now());
        if (found) return JSON.parse(open(keys.encryptionKey, found.sealed, sealContext(found.browserHash))) as PendingSignIn;
      }
      return undefined;
    },
  };
}
