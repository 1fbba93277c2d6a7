import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { browserSessions, type SessionDependencies } from '../identity/sessions.js';
import type { RegisteredClient, ClientDirectory } from '../oauth/clients.js';
import { consentAlreadyGiven, consentMemory, decideConsent } from '../oauth/consent.js';
import { errorResponseUrl } from '../oauth/authorization-request.js';
import { OAuthError } from '../oauth/errors.js';
import { parseScope } from '../oauth/scopes.js';
import { pendingFlows, type OpenFlow } from '../oauth/flows.js';
import type { AuthorizationFlowRecord, UserRecord, OpenedStore } from '../store/index.js';
import { FlowRefused, OAuthSetupError } from '../upstream/oauth/types.js';
import { isCrossSiteFormPost } from './browser-guards.js';
import { connectUpstreamStepPage, consentPage, consentPageHeaders, flowExpiredPage, flowRefusedPage, unknownUpstreamPage } from './consent-pages.js';
import { messagePage } from './login-pages.js';
import { authorizationErrorPage, sendAuthorizationErrorPage } from './oauth-error-page.js';
import { pageErrorHandler } from './page-errors.js';
import { sendPage } from './page.js';
import { connectableUpstream, unconnectedUpstreams, type ConnectableUpstream, type ConnectableUpstreamSources } from './upstream-connect-routes.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import type { Clock } from '../clock.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import type { GrantService } from '../oauth/grants.js';

/** `signed_in`: the browser came here through the sign-in form (see the GET route for why that matters). */
const consentQuery = z.object({ flow_id: z.string().max(64), signed_in: z.literal('1').optional() });

/** Upstream ids, one field per checked box: a single one arrives as a string, several as an array. */
const upstreamIds = z
  .union([z.string().max(100), z.array(z.string().max(100)).max(50)])
  .optional()
  .transform((ids) => [...new Set(ids === undefined ? [] : [ids].flat())]);

const consentForm = z.object({
  flow_id: z.string().max(64),
  csrf_token: z.string().max(128).optional(),
  decision: z.enum(['approve', 'deny']),
  connect_upstream: upstreamIds,
});

/** A step of a chained authorization: the approved flow, its approval token, and the upstreams still to connect. */
const resumeQuery = z.object({ flow_id: z.string().max(64), approval: z.string().max(128), connect: upstreamIds });

const RESUME_PATH = '/oauth/consent/resume';

function resumeUrl(flowId: string, approval: string, upstreams: ConnectableUpstream[]): string {
  const query = new URLSearchParams({ flow_id: flowId, approval });
  for (const upstream of upstreams) query.append('connect', upstream.id);
  return `${RESUME_PATH}?${query.toString()}`;
}

/**
 * What consent uses: sessions, the pending flows, clients, remembered consents, grants, the audit, and the
 * per-user upstreams a person may connect on the way.
 */
export interface ConsentRouteDeps extends SessionDependencies, ConnectableUpstreamSources {
  config: Pick<Config, 'publicUrl' | 'oauth' | 'sessions' | 'secureCookies'>;
  store: Pick<OpenedStore, 'users' | 'sessions' | 'flows' | 'consents' | 'upstreams'>;
  clients: Pick<ClientDirectory, 'find'>;
  grants: GrantService;
  audit: AuditLog;
  outbound: Pick<OutboundOAuth, 'vault' | 'startFlow'>;
  clock: Clock;
}

/** The consent page and its form: the person approves or denies what a pending flow asks for. */
export const consentRoutes: FastifyPluginAsync<{ deps: ConsentRouteDeps }> = async (app, { deps }) => {
  const sessions = browserSessions(deps, deps.clock);
  const flows = pendingFlows(deps, deps.clock);
  const decisionDeps = { memory: consentMemory(deps.store.consents, deps.clock), grants: deps.grants, audit: deps.audit, issuer: deps.config.publicUrl };
  const ownOrigin = new URL(deps.config.publicUrl).origin;

  /** Step: the flow must be live and started by this browser; otherwise a page says why and nothing else happens. */
  async function openFlow(flowId: string, request: FastifyRequest, reply: FastifyReply): Promise<OpenFlow | undefined> {
    const opened = await flows.open(flowId, request);
    if (opened === 'expired') sendPage(reply, 400, flowExpiredPage());
    else if (opened === 'foreign') sendPage(reply, 403, flowRefusedPage());
    else return opened;
    return undefined;
  }

  /** Step: the application may have been deleted, or its metadata document may have gone bad, since the flow began. */
  async function loadClient(flow: AuthorizationFlowRecord, request: FastifyRequest, reply: FastifyReply): Promise<RegisteredClient | undefined> {
    const client = await deps.clients.find(flow.clientId, { ip: request.ip }).catch((error: unknown) => {
      if (error instanceof OAuthError) return error;
      throw error;
    });
    if (client instanceof OAuthError) sendAuthorizationErrorPage(request, reply, client);
    else if (!client) sendPage(reply, 400, authorizationErrorPage(new OAuthError('invalid_client', 'this application is no longer registered here')));
    else return client;
    return undefined;
  }

  /** Step: complete the flow once (compare-and-set), forget its cookie, and send the browser back to the application. */
  async function finish(request: FastifyRequest, reply: FastifyReply, flow: AuthorizationFlowRecord, user: UserRecord, approve: boolean, remembered = false) {
    if (!(await flows.complete(flow.id))) return sendPage(reply, 400, flowExpiredPage());
    flows.clearCookie(flow.id, reply);
    const location = await decideConsent(decisionDeps, { flow, userId: user.id, approve, ip: request.ip, remembered });
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(location, 303);
  }

  /** Step: every upstream named must be a per-user one this person may use; anything else refuses the whole request. */
  async function loadUpstreams(ids: string[], user: UserRecord, reply: FastifyReply): Promise<ConnectableUpstream[] | undefined> {
    const upstreams = await Promise.all(ids.map((id) => connectableUpstream(deps, id, user)));
    if (upstreams.every((upstream) => upstream !== undefined)) return upstreams;
    sendPage(reply, 400, unknownUpstreamPage());
    return undefined;
  }

  /**
   * Chained authorization: the flow is approved but not completed (a code lives a minute, the person may spend longer
   * at the upstreams). Each upstream gets a per-user flow whose callback goes on to the rest of the chain; the last
   * step completes the flow and answers the application. An upstream that cannot be set up now is skipped: a
   * connection that fails never fails the application's authorization.
   */
  async function continueChain(request: FastifyRequest, reply: FastifyReply, flow: AuthorizationFlowRecord, user: UserRecord, approval: string, upstreams: ConnectableUpstream[]) {
    for (const [index, upstream] of upstreams.entries()) {
      const then = resumeUrl(flow.id, approval, upstreams.slice(index + 1));
      try {
        const { authorizeUrl } = await deps.outbound.startFlow(upstream.id, 'per_user', user.id, { reuseDiscovery: true, then });
        return sendPage(reply, 200, connectUpstreamStepPage({ upstream, authorizeUrl, skipUrl: then }));
      } catch (error) {
        if (!(error instanceof OAuthSetupError || error instanceof FlowRefused)) throw error;
        request.log.warn({ upstreamId: upstream.id, reason: error.message }, 'chained upstream connection skipped');
      }
    }
    return finish(request, reply, flow, user, true);
  }

  /** `prompt=none` (OpenID Connect Core §3.1.2.1): never show a page; say what would have been needed. */
  async function refuseSilently(reply: FastifyReply, flow: AuthorizationFlowRecord, error: OAuthError) {
    if (!(await flows.complete(flow.id))) return sendPage(reply, 400, flowExpiredPage());
    flows.clearCookie(flow.id, reply);
    return reply.header('cache-control', 'no-store').redirect(errorResponseUrl(flow.redirectUri, error, flow.state, deps.config.publicUrl), 303);
  }

  app.get('/oauth/consent', async (request, reply) => {
    const query = consentQuery.safeParse(request.query);
    if (!query.success) return sendPage(reply, 400, flowExpiredPage());
    const opened = await openFlow(query.data.flow_id, request, reply);
    if (!opened) return reply;
    const user = await sessions.currentUser(request);
    const silent = parseScope(opened.flow.prompt).includes('none');
    if (!user && silent) return refuseSilently(reply, opened.flow, new OAuthError('login_required', 'the user is not signed in'));
    if (!user) return reply.redirect(`/login?next=${encodeURIComponent(`/oauth/consent?flow_id=${opened.flow.id}&signed_in=1`)}`, 303);
    const client = await loadClient(opened.flow, request, reply);
    if (!client) return reply;
    const remembered = await consentAlreadyGiven(decisionDeps.memory, opened.flow, user.id);
    if (!remembered && silent) return refuseSilently(reply, opened.flow, new OAuthError('consent_required', 'the user has not consented to this access'));
    // Right after the sign-in form, the page is shown even when consent is remembered: browsers hold the
    // redirects that follow a form post to the sign-in page's `form-action 'self'`, so a redirect to the app would be blocked.
    if (remembered && !query.data.signed_in) return finish(request, reply, opened.flow, user, true, true);
    const page = consentPage({
      client,
      redirectUri: opened.flow.redirectUri,
      scope: opened.flow.scope,
      username: user.username,
      flowId: opened.flow.id,
      csrfToken: opened.csrfToken,
      connectable: await unconnectedUpstreams(deps, user),
    });
    return reply.code(200).headers(consentPageHeaders(opened.flow.redirectUri)).type('text/html; charset=utf-8').send(page.markup);
  });

  app.post('/oauth/consent', async (request, reply) => {
    if (isCrossSiteFormPost(request.headers, ownOrigin)) return sendPage(reply, 403, flowRefusedPage());
    const form = consentForm.safeParse(request.body);
    if (!form.success) return sendPage(reply, 400, messagePage({ title: 'Bad request', text: 'The consent form could not be read. Go back to your app and try again.' }));
    const opened = await openFlow(form.data.flow_id, request, reply);
    if (!opened) return reply;
    if (!flows.csrfMatches(opened.flow, form.data.csrf_token)) return sendPage(reply, 403, flowRefusedPage());
    const user = await sessions.currentUser(request);
    if (!user) return reply.redirect(`/login?next=${encodeURIComponent(`/oauth/consent?flow_id=${opened.flow.id}`)}`, 303);
    const upstreams = await loadUpstreams(form.data.connect_upstream, user, reply);
    if (!upstreams) return reply;
    if (form.data.decision === 'deny' || upstreams.length === 0) return finish(request, reply, opened.flow, user, form.data.decision === 'approve');
    return continueChain(request, reply, opened.flow, user, flows.approvalToken(opened.flow, user.id), upstreams);
  });

  /**
   * The next step of a chained authorization, reached from the callback of the previous upstream (or its skip link):
   * the flow's browser and a signed-in user as for the consent form, plus the approval token only an Allow could mint.
   */
  app.get(RESUME_PATH, async (request, reply) => {
    const query = resumeQuery.safeParse(request.query);
    if (!query.success) return sendPage(reply, 400, flowExpiredPage());
    const opened = await openFlow(query.data.flow_id, request, reply);
    if (!opened) return reply;
    const user = await sessions.currentUser(request);
    if (!user) return reply.redirect(`/login?next=${encodeURIComponent(`/oauth/consent?flow_id=${opened.flow.id}`)}`, 303);
    if (!flows.approvalMatches(opened.flow, user.id, query.data.approval)) return sendPage(reply, 403, flowRefusedPage());
    const upstreams = await loadUpstreams(query.data.connect, user, reply);
    if (!upstreams) return reply;
    return continueChain(request, reply, opened.flow, user, query.data.approval, upstreams);
  });

  app.setErrorHandler(pageErrorHandler('consent route', { retry: 'Go back to your app and try again.' }));
};
