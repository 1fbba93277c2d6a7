import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sessionCsrf } from '../../identity/session-csrf.js';
import { browserSessions, type SessionDependencies } from '../../identity/sessions.js';
import type { SafeHtml } from '../html.js';
import { messagePage } from '../login-pages.js';
import { sendPage } from '../page.js';
import { consoleAssets } from './console-assets.js';
import { consoleLayout, sendConsolePage, type ConsoleSectionPath } from './console-layout.js';
import { apiKeysBody, auditBody, oauthBody, overviewBody, usersBody } from './console-pages.js';
import { upstreamBody, upstreamsBody } from './upstream-pages.js';
import type { Clock } from '../../clock.js';
import type { KeyRing } from '../../crypto/key-ring.js';
import type { UpstreamService } from '../../upstream/upstream-service.js';

const upstreamParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/) });

const SECTIONS: { path: string; section: ConsoleSectionPath; title: string; body: () => SafeHtml }[] = [
  { path: '/admin', section: '/admin', title: 'Overview', body: overviewBody },
  { path: '/admin/upstreams', section: '/admin/upstreams', title: 'Upstreams', body: upstreamsBody },
  { path: '/admin/users', section: '/admin/users', title: 'Users', body: usersBody },
  { path: '/admin/oauth', section: '/admin/oauth', title: 'OAuth clients and grants', body: oauthBody },
  { path: '/admin/api-keys', section: '/admin/api-keys', title: 'API keys', body: apiKeysBody },
  { path: '/admin/audit', section: '/admin/audit', title: 'Audit', body: auditBody },
];

/** What the console's pages use besides /api: admins' sessions, the CSRF key, an upstream's name for its page. */
export interface ConsoleRouteDeps extends SessionDependencies {
  keys: Pick<KeyRing, 'tokenHasher' | 'cookieKey'>;
  upstreamService: Pick<UpstreamService, 'get'>;
  clock: Clock;
}

/**
 * The admin console at /admin: server-rendered pages for admins only. Not signed in: the sign-in page (password or
 * company sign-in) with `next`; signed in without the admin flag: a 403 page. Everything they show and change goes
 * through /api, with the session's CSRF token from the page.
 */
export const consoleRoutes: FastifyPluginAsync<{ deps: ConsoleRouteDeps }> = async (app, { deps }) => {
  const sessions = browserSessions(deps, deps.clock);
  const csrf = sessionCsrf(deps.keys.cookieKey);
  await app.register(consoleAssets);

  /** Steps: a live session (else the sign-in page comes back here), an admin (else 403), the session's CSRF token. */
  async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<{ username: string; csrfToken: string } | undefined> {
    const resolved = await sessions.resolve(request.cookies[sessions.cookieName]);
    if (!resolved) {
      reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
      return undefined;
    }
    if (!resolved.user.isAdmin) {
      sendPage(reply, 403, messagePage({ title: 'Admins only', text: 'The console is for Gatehouse admins. Ask an admin if you need access.', link: { href: '/', label: 'Back to your account' } }));
      return undefined;
    }
    return { username: resolved.user.username, csrfToken: csrf.tokenFor(resolved.session) };
  }

  for (const page of SECTIONS) {
    app.get(page.path, async (request, reply) => {
      const admin = await requireAdmin(request, reply);
      if (!admin) return reply;
      return sendConsolePage(reply, 200, consoleLayout({ ...admin, title: page.title, section: page.section, body: page.body() }));
    });
  }

  app.get('/admin/upstreams/:id', async (request, reply) => {
    const admin = await requireAdmin(request, reply);
    if (!admin) return reply;
    const params = upstreamParams.safeParse(request.params);
    const upstream = params.success ? await deps.upstreamService.get(params.data.id) : undefined;
    if (!upstream) return sendPage(reply, 404, messagePage({ title: 'No such upstream', text: 'It may have been deleted.', link: { href: '/admin/upstreams', label: 'All upstreams' } }));
    return sendConsolePage(reply, 200, consoleLayout({ ...admin, title: `Upstream ${upstream.name}`, section: '/admin/upstreams', body: upstreamBody(upstream.id) }));
  });
};
