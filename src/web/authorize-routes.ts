import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { virtualServerExists } from '../oauth/resource.js';
import { sendPage } from './page.js';
import { authorizationErrorPage, sendAuthorizationErrorPage } from './oauth-error-page.js';
import { errorResponseUrl, validateAuthorizationRequest, type RawParameters } from '../oauth/authorization-request.js';
import { OAuthError } from '../oauth/errors.js';
import { pendingFlows, type FlowDependencies } from '../oauth/flows.js';
import { redirectUriMatches } from '../oauth/redirect-uris.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { ClientDirectory } from '../oauth/clients.js';
import type { OpenedStore } from '../store/index.js';

/** What the authorization endpoint uses: clients, virtual servers' names, and the pending flows it starts. */
export interface AuthorizeRouteDeps extends FlowDependencies {
  config: Pick<Config, 'publicUrl' | 'oauth' | 'secureCookies'>;
  store: Pick<OpenedStore, 'flows' | 'virtualServers'>;
  clients: ClientDirectory;
  clock: Clock;
}

/**
 * The authorization endpoint (RFC 6749 §3.1, OAuth 2.1): validates the request, stores a pending flow bound
 * to this browser and sends it to the consent page. GET with a query, or POST with a form body, alike.
 * No CORS here: only a browser navigation has any business on this endpoint.
 */
export const authorizeRoutes: FastifyPluginAsync<{ deps: AuthorizeRouteDeps }> = async (app, { deps }) => {
  const { config } = deps;
  const flows = pendingFlows(deps, deps.clock);
  const requestDeps = {
    clients: deps.clients,
    publicUrl: config.publicUrl,
    registrationPolicy: config.oauth.registrationPolicy,
    strictScope: config.oauth.strictScope,
    redirectUriMatches,
    virtualServerExists: virtualServerExists(deps.store.virtualServers),
  };

  async function authorize(request: FastifyRequest, reply: FastifyReply, params: RawParameters) {
    // POSTed forms answer with 303 so the browser follows with a GET.
    const redirectStatus = request.method === 'POST' ? 303 : 302;
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const outcome = await validateAuthorizationRequest(params, requestDeps, { ip: request.ip });
    if (outcome.kind === 'page') return sendAuthorizationErrorPage(request, reply, outcome.error);
    if (outcome.kind === 'redirect') {
      return reply.redirect(errorResponseUrl(outcome.redirectUri, outcome.error, outcome.state, config.publicUrl), redirectStatus);
    }
    const flowId = await flows.start(outcome.request, reply);
    return reply.redirect(`/oauth/consent?flow_id=${encodeURIComponent(flowId)}`, redirectStatus);
  }

  app.get('/oauth/authorize', (request, reply) => authorize(request, reply, (request.query ?? {}) as RawParameters));
  app.post('/oauth/authorize', (request, reply) => authorize(request, reply, (request.body ?? {}) as RawParameters));

  // Unreadable bodies are the client's mistake; with no verified redirect URI yet, the answer is a page.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'authorization endpoint failed');
    const shown = status >= 500 ? new OAuthError('server_error', 'the server could not handle the request') : new OAuthError('invalid_request', 'the request could not be read');
    return sendPage(reply, status >= 500 ? 500 : 400, authorizationErrorPage(shown));
  });
};
