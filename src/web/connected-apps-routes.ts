import { createHmac } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { secretsEqual } from '../crypto/keyed-hash.js';
import { browserSessions, type ResolvedSession } from '../identity/sessions.js';
import { registeredClient } from '../oauth/clients.js';
import { parseScope } from '../oauth/scopes.js';
import type { Runtime } from '../runtime.js';
import type { GrantRecord, OAuthClientRecord } from '../store/index.js';
import { isCrossSiteFormPost } from './browser-guards.js';
import { describeClient } from './client-labels.js';
import { connectedAppsPage, grantNotFoundPage, type ConnectedApp } from './connected-apps-pages.js';
import { messagePage } from './login-pages.js';
import { pageErrorHandler } from './page-errors.js';
import { sendPage } from './page.js';

const APPS_PATH = '/account/apps';

// z.string() refuses a repeated field (it arrives as an array), so a form cannot smuggle in a second grant id.
const revokeForm = z.object({ grant_id: z.string().min(1).max(100) });
const appsQuery = z.object({ revoked: z.literal('1').optional() });

/**
 * The CSRF token of the revoke forms: an HMAC of the session's stored hash, so it needs no storage, differs per
 * session, dies with the session, and cannot be computed without the server's cookie key.
 */
function csrfTokenFor(session: ResolvedSession, cookieKey: Buffer): string {
  return createHmac('sha256', cookieKey).update(`connected-apps csrf\0${session.session.tokenHash}`).digest('base64url');
}

/** One application per client, named as the consent page names it; grants newest first, as the store lists them. */
function groupByClient(grants: GrantRecord[], clients: Map<string, OAuthClientRecord | undefined>): ConnectedApp[] {
  const apps = new Map<string, ConnectedApp>();
  for (const grant of grants) {
    let app = apps.get(grant.clientId);
    if (!app) {
      const record = clients.get(grant.clientId);
      app = { ...(record ? describeClient(registeredClient(record)) : { name: 'An unnamed application' }), grants: [] };
      apps.set(grant.clientId, app);
    }
    app.grants.push({ id: grant.id, scopes: parseScope(grant.scope), authorizedAt: grant.createdAt, lastUsedAt: grant.lastUsedAt });
  }
  return [...apps.values()];
}

/** `GET /account/apps` and `POST /account/apps/revoke`: a signed-in person's grants ("connected apps"). */
export const connectedAppsRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  const sessions = browserSessions(runtime);
  const ownOrigin = new URL(runtime.config.publicUrl).origin;
  const { store } = runtime;

  /** Step: the signed-in session, or undefined after sending the browser to sign in and come back to the list. */
  async function requireSession(request: FastifyRequest, reply: FastifyReply): Promise<ResolvedSession | undefined> {
    const resolved = await sessions.resolve(request.cookies[sessions.cookieName]);
    if (!resolved) reply.redirect(`/login?next=${encodeURIComponent(APPS_PATH)}`, 303);
    return resolved;
  }

  function refused(reply: FastifyReply, text: string): FastifyReply {
    return sendPage(reply, 403, messagePage({ title: 'Request refused', text, link: { href: APPS_PATH, label: 'Back to connected apps' } }));
  }

  app.get(APPS_PATH, async (request, reply) => {
    const resolved = await requireSession(request, reply);
    if (!resolved) return reply;
    const grants = await store.grants.list({ userId: resolved.user.id });
    const clientIds = [...new Set(grants.map((grant) => grant.clientId))];
    const records = await Promise.all(clientIds.map((id) => store.clients.find(id)));
    const clients = new Map(clientIds.map((id, i) => [id, records[i]]));
    return sendPage(reply, 200, connectedAppsPage({
      username: resolved.user.username,
      apps: groupByClient(grants, clients),
      csrfToken: csrfTokenFor(resolved, runtime.keys.cookieKey),
      revoked: appsQuery.safeParse(request.query).data?.revoked === '1',
    }));
  });

  app.post(`${APPS_PATH}/revoke`, async (request, reply) => {
    // The order matters: another site's post and a forged form are refused before anything is looked up.
    if (isCrossSiteFormPost(request.headers, ownOrigin)) return refused(reply, 'This form was sent from another site. Open Gatehouse directly and try again.');
    const resolved = await requireSession(request, reply);
    if (!resolved) return reply;
    const presented = (request.body as { csrf_token?: unknown } | undefined)?.csrf_token;
    if (typeof presented !== 'string' || !secretsEqual(presented, csrfTokenFor(resolved, runtime.keys.cookieKey))) {
      return refused(reply, 'This form is out of date. Open your connected apps again and retry.');
    }
    const form = revokeForm.safeParse(request.body);
    if (!form.success) return sendPage(reply, 400, messagePage({ title: 'Bad request', text: 'The form was incomplete.', link: { href: APPS_PATH, label: 'Back to connected apps' } }));
    const grant = await store.grants.find(form.data.grant_id);
    // Someone else's grant answers exactly like a missing one: ids reveal nothing about other people.
    if (!grant || grant.userId !== resolved.user.id) return sendPage(reply, 404, grantNotFoundPage());
    await runtime.grants.revoke(grant.id, 'revoked by its user', { userId: resolved.user.id, ip: request.ip });
    // The app must ask again: a remembered consent would let it back in without the consent page.
    await store.consents.deleteForUserAndClient(grant.userId, grant.clientId);
    return reply.redirect(`${APPS_PATH}?revoked=1`, 303);
  });

  // Unreadable bodies are the client's mistake: a page, not JSON or a stack trace.
  app.setErrorHandler(pageErrorHandler('connected apps route', { retry: 'Go back and submit the form again.', link: { href: APPS_PATH, label: 'Back to connected apps' } }));
};
