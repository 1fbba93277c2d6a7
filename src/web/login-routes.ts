import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isCrossSiteFormPost, safeLocalPath } from './browser-guards.js';
import { describeWait, messagePage, signedInPage, signInPageFor } from './login-pages.js';
import { pageErrorHandler } from './page-errors.js';
import { sendPage } from './page.js';
import { PASSWORD_MAX_LENGTH } from '../identity/password.js';
import { browserSessions, type SessionDependencies } from '../identity/sessions.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PasswordLogin } from '../identity/login.js';

/** The one answer for unknown users, wrong passwords and disabled accounts alike. */
export const WRONG_CREDENTIALS = 'Wrong username or password.';

export const PASSWORD_LOGIN_OFF = 'Sign-in with a password is turned off here. Use your company sign-in.';

const loginForm = z.object({
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  next: z.string().max(2048).optional(),
});

const loginQuery = z.object({ next: z.string().optional() });

/** What sign-in uses: browser sessions, the password check, and whether passwords or which providers are offered. */
export interface LoginRouteDeps extends SessionDependencies {
  config: Pick<Config, 'publicUrl' | 'sso' | 'sessions' | 'secureCookies'>;
  login: Pick<PasswordLogin, 'attempt'>;
  clock: Clock;
}

/** Sign-in, sign-out and the signed-in home page, over server-side browser sessions. */
export const loginRoutes: FastifyPluginAsync<{ deps: LoginRouteDeps }> = async (app, { deps }) => {
  const sessions = browserSessions(deps, deps.clock);
  const ownOrigin = new URL(deps.config.publicUrl).origin;
  const signInPage = signInPageFor(deps.config.sso);

  /** Step: refuse form posts a browser made on behalf of another site (login CSRF, forced logout). */
  function refuseCrossSite(request: FastifyRequest, reply: FastifyReply): boolean {
    if (!isCrossSiteFormPost(request.headers, ownOrigin)) return false;
    sendPage(reply, 403, messagePage({
      title: 'Request refused',
      text: 'This form was sent from another site. Open Gatehouse directly and try again.',
      link: { href: '/login', label: 'Go to sign-in' },
    }));
    return true;
  }

  app.get('/', async (request, reply) => {
    const user = await sessions.requireUser(request, reply);
    if (!user) return reply;
    return sendPage(reply, 200, signedInPage({ username: user.username, isAdmin: user.isAdmin }));
  });

  app.get('/login', async (request, reply) => {
    const next = safeLocalPath(loginQuery.safeParse(request.query).data?.next);
    if (await sessions.currentUser(request)) return reply.redirect(next ?? '/', 303);
    return sendPage(reply, 200, signInPage({ next }));
  });

  app.post('/login', async (request, reply) => {
    if (refuseCrossSite(request, reply)) return reply;
    if (!deps.config.sso.password_login) return sendPage(reply, 403, signInPage({ message: { kind: 'alert', text: PASSWORD_LOGIN_OFF } }));
    const form = loginForm.safeParse(request.body);
    if (!form.success) {
      const next = safeLocalPath((request.body as { next?: unknown } | undefined)?.next);
      return sendPage(reply, 400, signInPage({ next, message: { kind: 'alert', text: 'Enter a username and a password.' } }));
    }
    const { username, password } = form.data;
    const next = safeLocalPath(form.data.next);
    const outcome = await deps.login.attempt(username, password, request.ip);
    if (!outcome.ok && outcome.reason === 'throttled') {
      const wait = describeWait(outcome.retryAfterSeconds);
      reply.header('retry-after', String(outcome.retryAfterSeconds));
      return sendPage(reply, 429, signInPage({ username, next, message: { kind: 'notice', text: `Too many failed sign-in attempts. Try again in ${wait}.` } }));
    }
    if (!outcome.ok) return sendPage(reply, 401, signInPage({ username, next, message: { kind: 'alert', text: WRONG_CREDENTIALS } }));
    await sessions.startSession(request, reply, outcome.user);
    return reply.redirect(next ?? '/', 303);
  });

  app.post('/logout', async (request, reply) => {
    if (refuseCrossSite(request, reply)) return reply;
    await sessions.endSession(request, reply);
    // A person who signs out from a consent page ("not you?") goes on signing in for that same flow.
    const next = safeLocalPath((request.body as { next?: unknown } | undefined)?.next);
    return reply.redirect(next ? `/login?next=${encodeURIComponent(next)}` : '/login', 303);
  });

  // Unreadable bodies (wrong content type, too large, malformed) are the client's mistake: a page, not a stack trace.
  app.setErrorHandler(pageErrorHandler('sign-in route', { retry: 'Go back and submit the form again.', link: { href: '/login', label: 'Go to sign-in' } }));
};
