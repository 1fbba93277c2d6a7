import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { hasTokenShape, issueToken } from '../crypto/random.js';
import type { BrowserSessionRecord, Store, UserRecord } from '../store/index.js';
import { findActiveUser } from './active-user.js';

/** lastSeenAt is written at most this often, so a busy browser does not cost a database write per request. */
export const TOUCH_INTERVAL_MS = 60_000;
const MAX_USER_AGENT_LENGTH = 512;

export interface ResolvedSession {
  user: UserRecord;
  session: BrowserSessionRecord;
}

/** Browser sessions: the token lives only in the cookie, the store keeps its keyed hash. */
export interface BrowserSessions {
  /** `__Host-gatehouse_session` over https (Secure, no Domain, Path=/), `gatehouse_session` otherwise. */
  readonly cookieName: string;
  /** Creates a session for the user and returns its token (the only time the token exists server-side). */
  open(user: UserRecord, userAgent: string | undefined): Promise<string>;
  /** The live session and its enabled user for a token, or undefined; refreshes lastSeenAt now and then. */
  resolve(token: string | undefined): Promise<ResolvedSession | undefined>;
  revoke(token: string | undefined): Promise<void>;

  /** Opens a session, ends the one this browser had (no session fixation), and sets the cookie. */
  startSession(request: FastifyRequest, reply: FastifyReply, user: UserRecord): Promise<void>;
  currentUser(request: FastifyRequest): Promise<UserRecord | undefined>;
  /** The signed-in user, or undefined after answering with a 303 to the sign-in page that comes back here. */
  requireUser(request: FastifyRequest, reply: FastifyReply): Promise<UserRecord | undefined>;
  /** Revokes the browser's session server-side and clears its cookie. */
  endSession(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export interface SessionDependencies {
  config: Pick<Config, 'sessions' | 'secureCookies'>;
  store: Pick<Store, 'sessions' | 'users'>;
  keys: Pick<KeyRing, 'tokenHasher'>;
}

export function sessionCookieName(secureCookies: boolean): string {
  return secureCookies ? '__Host-gatehouse_session' : 'gatehouse_session';
}

/** Revoked, past its absolute lifetime, or idle for too long: a dead session never comes back. */
export function isSessionLive(session: BrowserSessionRecord, at: number, idleTimeoutMs: number): boolean {
  return session.revokedAt === null && at < session.absoluteExpiresAt && at - session.lastSeenAt < idleTimeoutMs;
}

export function browserSessions({ config, store, keys }: SessionDependencies, now: () => number = Date.now): BrowserSessions {
  const idleTimeoutMs = config.sessions.idleTimeoutSeconds * 1000;
  const absoluteTimeoutMs = config.sessions.absoluteTimeoutSeconds * 1000;
  const cookieName = sessionCookieName(config.secureCookies);
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secureCookies } as const;

  async function findSession(token: string): Promise<BrowserSessionRecord | undefined> {
    // Every pepper version, newest first, so sessions survive a pepper rotation.
    for (const tokenHash of keys.tokenHasher.candidates(token)) {
      const session = await store.sessions.findByTokenHash(tokenHash);
      if (session) return session;
    }
    return undefined;
  }

  const sessions: BrowserSessions = {
    cookieName,
    async open(user, userAgent) {
      const token = issueToken('browserSession');
      const at = now();
      await store.sessions.create({
        tokenHash: keys.tokenHasher.hash(token),
        userId: user.id,
        createdAt: at,
        lastSeenAt: at,
        absoluteExpiresAt: at + absoluteTimeoutMs,
        revokedAt: null,
        userAgent: userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
      });
      return token;
    },
    async resolve(token) {
      if (!token || !hasTokenShape(token, 'browserSession')) return undefined;
      const session = await findSession(token);
      const at = now();
      if (!session || !isSessionLive(session, at, idleTimeoutMs)) return undefined;
      const user = await findActiveUser(store.users, session.userId);
      if (!user) return undefined;
      if (at - session.lastSeenAt >= TOUCH_INTERVAL_MS) await store.sessions.touch(session.tokenHash, at);
      return { user, session };
    },
    async revoke(token) {
      if (!token || !hasTokenShape(token, 'browserSession')) return;
      const session = await findSession(token);
      if (session) await store.sessions.revoke(session.tokenHash, now());
    },

    async startSession(request, reply, user) {
      await sessions.revoke(request.cookies[cookieName]);
      const token = await sessions.open(user, request.headers['user-agent']);
      reply.setCookie(cookieName, token, { ...cookieOptions, maxAge: config.sessions.absoluteTimeoutSeconds });
    },
    async currentUser(request) {
      return (await sessions.resolve(request.cookies[cookieName]))?.user;
    },
    async requireUser(request, reply) {
      const user = await sessions.currentUser(request);
      if (user) return user;
      const target = request.url === '/' ? '/login' : `/login?next=${encodeURIComponent(request.url)}`;
      reply.redirect(target, 303);
      return undefined;
    },
    async endSession(request, reply) {
      await sessions.revoke(request.cookies[cookieName]);
      reply.clearCookie(cookieName, cookieOptions);
    },
  };
  return sessions;
}
