import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { upstreamVisibleTo } from '../gateway/policy.js';
import type { Clock } from '../clock.js';
import { browserSessions, type SessionDependencies } from '../identity/sessions.js';
import type { OpenedStore, UpstreamRecord, UserRecord } from '../store/index.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import { FlowRefused } from '../upstream/oauth/types.js';
import { settingsOf } from '../upstream/settings.js';
import type { UpstreamSettings } from '../upstream/types.js';
import { pageErrorHandler } from './page-errors.js';
import { PAGE_SECURITY_HEADERS, sendPage } from './page.js';
import type { SafeHtml } from './html.js';
import { callbackRefusedPage, connectLinkRefusedPage, continueToUpstreamPage, unreadableCallbackPage, upstreamConnectedPage } from './upstream-connect-pages.js';

const send = (reply: FastifyReply, answer: { status: number; page: SafeHtml }) => sendPage(reply, answer.status, answer.page);

const CALLBACK_PATH = '/api/oauth/callback';

// Every parameter once: a second `state` or `code` is refused rather than letting one copy win.
const callbackQuery = z.record(z.string(), z.string());
/** `confirm`: the browser comes from a form, so it gets a page with a link instead of a redirect off-site. */
const connectQuery = z.object({ confirm: z.literal('1').optional() });

/** The connect link as a browser reaches it after a form: sign-in's `next`, and where the Connect button sends it. */
export const connectLinkAfterForm = (flowId: string) => `/connect/${encodeURIComponent(flowId)}?confirm=1`;

/** A per-user upstream this person may use, so may connect to. */
export function connectableBy(settings: UpstreamSettings, user: Pick<UserRecord, 'username' | 'groups'>): boolean {
  return settings.auth_type === 'per_user_oauth' && upstreamVisibleTo(settings, user);
}

/** A per-user upstream as offered to a person: its name and the host its URL names. */
export interface ConnectableUpstream {
  id: string;
  name: string;
  host: string;
}

/** Where the upstreams a person may connect are found: the upstreams, and whether the person's tokens work. */
export interface ConnectableUpstreamSources {
  store: Pick<OpenedStore, 'upstreams'>;
  outbound: Pick<OutboundOAuth, 'vault'>;
}

/** What the connect link and the outbound callback use: sessions, the upstreams, and outbound OAuth's flows. */
export interface UpstreamConnectDeps extends SessionDependencies {
  store: Pick<OpenedStore, 'users' | 'sessions' | 'upstreams'>;
  outbound: Pick<OutboundOAuth, 'redirectUri' | 'completeCallback' | 'openLink'>;
  clock: Clock;
}

/** `record` as offered to `user`, or undefined when it is not a per-user upstream they may use. */
function offeredTo(record: UpstreamRecord, user: UserRecord): ConnectableUpstream | undefined {
  const settings = settingsOf(record);
  if (!connectableBy(settings, user)) return undefined;
  const url = settings.connection_string ?? '';
  return { id: record.id, name: record.name, host: URL.canParse(url) ? new URL(url).host : url };
}

/** The per-user upstreams `user` may connect and has no working connection to (none yet, or one needing authorization). */
export async function unconnectedUpstreams(deps: ConnectableUpstreamSources, user: UserRecord): Promise<ConnectableUpstream[]> {
  const offered: ConnectableUpstream[] = [];
  for (const record of await deps.store.upstreams.list()) {
    const upstream = offeredTo(record, user);
    if (upstream && (await deps.outbound.vault.status(record.id, user.id)).state !== 'active') offered.push(upstream);
  }
  return offered;
}

/** The upstream `upstreamId` if `user` may connect it; an unknown id answers the same as one they may not use. */
export async function connectableUpstream(deps: ConnectableUpstreamSources, upstreamId: string, user: UserRecord): Promise<ConnectableUpstream | undefined> {
  const record = await deps.store.upstreams.find(upstreamId);
  return record && offeredTo(record, user);
}

/**
 * The browser side of Gatehouse as an OAuth client: the upstream's redirect back (`GET /api/oauth/callback`,
 * a page rather than the admin API's JSON, since a person's browser lands on it) and the per-user connect
 * link (`GET /connect/:flowId`) that sends the signed-in user it was issued for to the upstream.
 */
export const upstreamConnectRoutes: FastifyPluginAsync<{ deps: UpstreamConnectDeps }> = async (app, { deps }) => {
  const sessions = browserSessions(deps, deps.clock);
  const { outbound } = deps;

  app.get(CALLBACK_PATH, async (request, reply) => {
    if (!callbackQuery.safeParse(request.query).success) {
      return sendPage(reply, 400, unreadableCallbackPage());
    }
    // Rebuilt on the redirect URI we registered (the public URL), never on the Host header.
    const queryStart = request.url.indexOf('?');
    const callbackUrl = new URL(outbound.redirectUri + (queryStart === -1 ? '' : request.url.slice(queryStart)));
    const signedIn = await sessions.resolve(request.cookies[sessions.cookieName]);
    try {
      const done = await outbound.completeCallback(callbackUrl, signedIn?.user.id ?? null);
      // A flow started as a step of a chain (the consent page's "connect now") goes on to the chain's next step.
      if (done.then !== undefined) return reply.header('cache-control', 'no-store').redirect(done.then, 302);
      const upstream = await deps.store.upstreams.find(done.upstreamId);
      return sendPage(reply, 200, upstreamConnectedPage({ upstreamName: upstream?.name ?? 'The upstream', purpose: done.purpose }));
    } catch (error) {
      if (!(error instanceof FlowRefused)) throw error;
      // A failed step of a chain does not stop the chain: the person is on their way back to their application.
      if (error.then !== undefined) return reply.header('cache-control', 'no-store').redirect(error.then, 302);
      return send(reply, callbackRefusedPage(error));
    }
  });

  app.get<{ Params: { flowId: string } }>('/connect/:flowId', async (request, reply) => {
    const { flowId } = request.params;
    const user = await sessions.currentUser(request);
    if (!user) return reply.redirect(`/login?next=${encodeURIComponent(connectLinkAfterForm(flowId))}`, 303);
    try {
      const { authorizeUrl, upstreamId } = await outbound.openLink(flowId, user.id);
      if (connectQuery.safeParse(request.query).data?.confirm) {
        const upstream = await deps.store.upstreams.find(upstreamId);
        return sendPage(reply, 200, continueToUpstreamPage({ upstreamName: upstream?.name ?? 'the upstream', authorizeUrl }));
      }
      // The authorization URL carries the flow's state: not cached, and not leaked as a referrer.
      reply.header('cache-control', 'no-store').header('referrer-policy', PAGE_SECURITY_HEADERS['referrer-policy']!);
      return reply.redirect(authorizeUrl, 302);
    } catch (error) {
      if (!(error instanceof FlowRefused)) throw error;
      return send(reply, connectLinkRefusedPage(error));
    }
  });

  app.setErrorHandler(pageErrorHandler('upstream connect route', { retry: 'Start the connection again.', link: { href: '/account/apps', label: 'Your upstream connections' } }));
};
