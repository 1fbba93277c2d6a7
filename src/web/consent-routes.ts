import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { browserSessions } from '../identity/sessions.js';
import type { RegisteredClient } from '../oauth/clients.js';
import { consentAlreadyGiven, consentMemory, decideConsent } from '../oauth/consent.js';
import { errorResponseUrl } from '../oauth/authorization-request.js';
import { OAuthError } from '../oauth/errors.js';
import { parseScope } from '../oauth/scopes.js';
import { pendingFlows, type OpenFlow } from '../oauth/flows.js';
import type { Runtime } from '../runtime.js';
import type { AuthorizationFlowRecord, UserRecord } from '../store/index.js';
import { isCrossSiteFormPost } from './browser-guards.js';
import { consentPage, consentPageHeaders, flowExpiredPage, flowRefusedPage } from './consent-pages.js';
import { messagePage } from './login-pages.js';
import { authorizationErrorPage } from './oauth-error-page.js';
import { pageErrorHandler } from './page-errors.js';
import { sendPage } from './page.js';

/** `signed_in`: the browser came here through the sign-in form (see the GET route for why that matters). */
const consentQuery = z.object({ flow_id: z.string().max(64), signed_in: z.literal('1').optional() });

const consentForm = z.object({
  flow_id: z.string().max(64),
  csrf_token: z.string().max(128).optional(),
  decision: z.enum(['approve', 'deny']),
});

/** The consent page and its form: the person approves or denies what a pending flow asks for. */
export const consentRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  const sessions = browserSessions(runtime);
  const flows = pendingFlows(runtime);
  const decisionDeps = { memory: consentMemory(runtime.store.consents), grants: runtime.grants, audit: runtime.audit, issuer: runtime.config.publicUrl };
  const ownOrigin = new URL(runtime.config.publicUrl).origin;

  /** Step: the flow must be live and started by this browser; otherwise a page says why and nothing else happens. */
  async function openFlow(flowId: string, request: FastifyRequest, reply: FastifyReply): Promise<OpenFlow | undefined> {
    const opened = await flows.open(flowId, request);
    if (opened === 'expired') sendPage(reply, 400, flowExpiredPage());
    else if (opened === 'foreign') sendPage(reply, 403, flowRefusedPage());
    else return opened;
    return undefined;
  }

  /** Step: the application may have been deleted, or its metadata document may have gone bad, since the flow began. */
  async function loadClient(flow: AuthorizationFlowRecord, reply: FastifyReply): Promise<RegisteredClient | undefined> {
    const client = await runtime.clients.find(flow.clientId).catch((error: unknown) => {
      if (error instanceof OAuthError) return error;
      throw error;
    });
    if (client instanceof OAuthError) sendPage(reply, 400, authorizationErrorPage(client));
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

  /** `prompt=none` (OpenID Connect Core §3.1.2.1): never show a page; say what would have been needed. */
  async function refuseSilently(reply: FastifyReply, flow: AuthorizationFlowRecord, error: OAuthError) {
    if (!(await flows.complete(flow.id))) return sendPage(reply, 400, flowExpiredPage());
    flows.clearCookie(flow.id, reply);
    return reply.header('cache-control', 'no-store').redirect(errorResponseUrl(flow.redirectUri, error, flow.state, runtime.config.publicUrl), 303);
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
    const client = await loadClient(opened.flow, reply);
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
    return finish(request, reply, opened.flow, user, form.data.decision === 'approve');
  });

  app.setErrorHandler(pageErrorHandler('consent route', { retry: 'Go back to your app and try again.' }));
};
