import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { browserSessions, type ResolvedSession, type SessionDependencies } from '../identity/sessions.js';
import { registeredClient } from '../oauth/clients.js';
import { parseScope } from '../oauth/scopes.js';
import type { GrantRecord, OAuthClientRecord, UserRecord, OpenedStore } from '../store/index.js';
import { FlowRefused, OAuthSetupError } from '../upstream/oauth/types.js';
import { settingsOf } from '../upstream/settings.js';
import { isCrossSiteFormPost } from './browser-guards.js';
import { describeClient } from './client-labels.js';
import { connectedAppsPage, grantNotFoundPage, type ConnectedApp, type UpstreamAccountView } from './connected-apps-pages.js';
import { messagePage } from './login-pages.js';
import { pageErrorHandler } from './page-errors.js';
import { csrfMatches, csrfTokenFor } from './session-csrf.js';
import { sendPage } from './page.js';
import { connectFailedPage, connectionNotFoundPage } from './upstream-connect-pages.js';
import { connectableBy, connectLinkAfterForm } from './upstream-connect-routes.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { GrantService } from '../oauth/grants.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';

const APPS_PATH = '/account/apps';

// z.string() refuses a repeated field (it arrives as an array), so a form cannot smuggle in a second grant id.
const revokeForm = z.object({ grant_id: z.string().min(1).max(100) });
const upstreamForm = z.object({ upstream_id: z.string().min(1).max(100) });
const appsQuery = z.object({ revoked: z.literal('1').optional(), disconnected: z.literal('1').optional() });

/** The purpose the page's CSRF token is made for (session-csrf.ts). */
const CSRF_PURPOSE = 'connected-apps';

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

/** What a person's connected apps page uses: their grants with clients, upstream connections, sessions, the clock. */
export interface ConnectedAppsDeps extends SessionDependencies {
  config: Pick<Config, 'publicUrl' | 'sessions' | 'secureCookies'>;
  store: Pick<OpenedStore, 'users' | 'sessions' | 'grants' | 'clients' | 'consents' | 'upstreams' | 'upstreamTokens'>;
  keys: Pick<KeyRing, 'tokenHasher' | 'cookieKey'>;
  grants: Pick<GrantService, 'revoke'>;
  outbound: Pick<OutboundOAuth, 'vault' | 'startFlow' | 'disconnect'>;
  clock: Clock;
}

/**
 * `GET /account/apps` and `POST /account/apps/revoke`: a signed-in person's grants ("connected apps").
 * `POST /account/upstreams/connect|disconnect`: their own connections to per-user upstreams, listed on the same page.
 */
export const connectedAppsRoutes: FastifyPluginAsync<{ deps: ConnectedAppsDeps }> = async (app, { deps }) => {
  const sessions = browserSessions(deps, deps.clock);
  const ownOrigin = new URL(deps.config.publicUrl).origin;
  const { store } = deps;

  /** Step: the signed-in session, or undefined after sending the browser to sign in and come back to the list. */
  async function requireSession(request: FastifyRequest, reply: FastifyReply): Promise<ResolvedSession | undefined> {
    const resolved = await sessions.resolve(request.cookies[sessions.cookieName]);
    if (!resolved) reply.redirect(`/login?next=${encodeURIComponent(APPS_PATH)}`, 303);
    return resolved;
  }

  function refused(reply: FastifyReply, text: string): FastifyReply {
    return sendPage(reply, 403, messagePage({ title: 'Request refused', text, link: { href: APPS_PATH, label: 'Back to connected apps' } }));
  }

  /**
   * Steps shared by the page's forms, in this order: another site's post and a forged form are refused before
   * anything is looked up; then the fields are read (one of each).
   */
  async function checkedForm<T>(request: FastifyRequest, reply: FastifyReply, schema: z.ZodType<T>): Promise<{ user: UserRecord; form: T } | undefined> {
    if (isCrossSiteFormPost(request.headers, ownOrigin)) {
      refused(reply, 'This form was sent from another site. Open Gatehouse directly and try again.');
      return undefined;
    }
    const resolved = await requireSession(request, reply);
    if (!resolved) return undefined;
    if (!csrfMatches(request.body, resolved, deps.keys.cookieKey, CSRF_PURPOSE)) {
      refused(reply, 'This form is out of date. Open your connected apps again and retry.');
      return undefined;
    }
    const form = schema.safeParse(request.body);
    if (!form.success) {
      sendPage(reply, 400, messagePage({ title: 'Bad request', text: 'The form was incomplete.', link: { href: APPS_PATH, label: 'Back to connected apps' } }));
      return undefined;
    }
    return { user: resolved.user, form: form.data };
  }

  /** The per-user upstreams this person may connect, and any other they still hold tokens for (to disconnect). */
  async function upstreamConnections(user: UserRecord): Promise<UpstreamAccountView[]> {
    const held = new Set((await store.upstreamTokens.listForSubject(user.id)).map((row) => row.upstreamId));
    const connections: UpstreamAccountView[] = [];
    for (const record of await store.upstreams.list()) {
      const connectable = connectableBy(settingsOf(record), user);
      if (!connectable && !held.has(record.id)) continue;
      const status = await deps.outbound.vault.status(record.id, user.id);
      connections.push({ id: record.id, name: record.name, state: status.state, connectable, ...(status.reason !== undefined ? { reason: status.reason } : {}) });
    }
    return connections;
  }

  app.get(APPS_PATH, async (request, reply) => {
    const resolved = await requireSession(request, reply);
    if (!resolved) return reply;
    const grants = await store.grants.list({ userId: resolved.user.id });
    const clientIds = [...new Set(grants.map((grant) => grant.clientId))];
    const records = await Promise.all(clientIds.map((id) => store.clients.find(id)));
    const clients = new Map(clientIds.map((id, i) => [id, records[i]]));
    const query = appsQuery.safeParse(request.query).data;
    return sendPage(reply, 200, connectedAppsPage({
      username: resolved.user.username,
      apps: groupByClient(grants, clients),
      upstreams: await upstreamConnections(resolved.user),
      csrfToken: csrfTokenFor(resolved, deps.keys.cookieKey, CSRF_PURPOSE),
      ...(query?.revoked ? { notice: 'revoked' as const } : query?.disconnected ? { notice: 'disconnected' as const } : {}),
    }));
  });

  app.post(`${APPS_PATH}/revoke`, async (request, reply) => {
    const checked = await checkedForm(request, reply, revokeForm);
    if (!checked) return reply;
    const { user, form } = checked;
    const grant = await store.grants.find(form.grant_id);
    // Someone else's grant answers exactly like a missing one: ids reveal nothing about other people.
    if (!grant || grant.userId !== user.id) return sendPage(reply, 404, grantNotFoundPage());
    await deps.grants.revoke(grant.id, 'revoked by its user', { userId: user.id, ip: request.ip });
    // The app must ask again: a remembered consent would let it back in without the consent page.
    await store.consents.deleteForUserAndClient(grant.userId, grant.clientId);
    return reply.redirect(`${APPS_PATH}?revoked=1`, 303);
  });

  app.post('/account/upstreams/connect', async (request, reply) => {
    const checked = await checkedForm(request, reply, upstreamForm);
    if (!checked) return reply;
    const { user, form } = checked;
    const record = await store.upstreams.find(form.upstream_id);
    // An upstream this person may not use answers like a missing one.
    if (!record || !connectableBy(settingsOf(record), user)) return sendPage(reply, 404, connectionNotFoundPage());
    try {
      // Discovery afresh: a person reconnecting may be doing so because the upstream moved its authorization server.
      const { flowId } = await deps.outbound.startFlow(record.id, 'per_user', user.id, { reuseDiscovery: false });
      return reply.redirect(connectLinkAfterForm(flowId), 303);
    } catch (error) {
      if (error instanceof OAuthSetupError) return sendPage(reply, 502, connectFailedPage(record.name, error));
      if (error instanceof FlowRefused) return sendPage(reply, 404, connectionNotFoundPage());
      throw error;
    }
  });

  app.post('/account/upstreams/disconnect', async (request, reply) => {
    const checked = await checkedForm(request, reply, upstreamForm);
    if (!checked) return reply;
    // Only this person's own connection is touched: the subject is their id, whatever upstream id was posted.
    if (!(await deps.outbound.disconnect(checked.form.upstream_id, checked.user.id))) return sendPage(reply, 404, connectionNotFoundPage());
    return reply.redirect(`${APPS_PATH}?disconnected=1`, 303);
  });

  // Unreadable bodies are the client's mistake: a page, not JSON or a stack trace.
  app.setErrorHandler(pageErrorHandler('connected apps route', { retry: 'Go back and submit the form again.', link: { href: APPS_PATH, label: 'Back to connected apps' } }));
};
