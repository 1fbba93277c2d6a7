import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { sessionCsrf } from '../identity/session-csrf.js';
import { browserSessions } from '../identity/sessions.js';
import type { Runtime } from '../runtime.js';
import { apiKeyRoutes } from './api-keys.js';
import { auditRoutes, securityEventRoutes } from './audit.js';
import { requireAdmin } from './auth.js';
import { apiErrorHandler, apiNotFoundHandler } from './envelope.js';
import { oauthClientRoutes } from './oauth-clients.js';
import { oauthGrantRoutes } from './oauth-grants.js';
import { mcpClientRoutes } from './mcp-clients.js';
import { overviewRoutes } from './overview.js';
import { serviceAccountRoutes } from './service-accounts.js';
import { toolPinRoutes } from './tool-pins.js';
import { userRoutes } from './users.js';
import { virtualServerRoutes } from './virtual-servers.js';

/**
 * /api reads JSON only: every other media type (forms, text) is refused with 415 instead of being half-parsed.
 * An empty body labelled JSON (browser UIs and many scripts send one on bodiless actions such as complete-oauth)
 * is no body: routes that take none go ahead, routes that need one refuse it as missing.
 */
function acceptJsonOnly(api: FastifyInstance): void {
  const parseJson = api.getDefaultJsonParser('error', 'error');
  api.removeAllContentTypeParsers();
  api.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
}

/**
 * The management API, mounted at /api. Everything registered inside inherits its JSON-only body parsing,
 * its admin authentication and its error envelope; later surfaces (upstreams, OAuth callback) register here too.
 */
export const adminApi: FastifyPluginAsync<{ runtime: Runtime }> = async (api, { runtime }) => {
  acceptJsonOnly(api);
  api.setErrorHandler(apiErrorHandler);
  api.setNotFoundHandler(apiNotFoundHandler);
  api.decorateRequest('apiCaller', null);
  api.addHook('onRequest', async (_request, reply) => {
    // Responses may hold secrets (a new key): no cache may keep them.
    reply.header('cache-control', 'no-store');
  });
  api.addHook('onRequest', requireAdmin(runtime, { sessions: browserSessions(runtime), csrf: sessionCsrf(runtime.keys.cookieKey) }));

  await api.register(userRoutes, { runtime });
  await api.register(apiKeyRoutes, { runtime });
  await api.register(oauthGrantRoutes, { runtime });
  await api.register(oauthClientRoutes, { runtime });
  await api.register(auditRoutes, { runtime });
  await api.register(securityEventRoutes, { runtime });
  await api.register(mcpClientRoutes, { runtime });
  await api.register(serviceAccountRoutes, { runtime });
  await api.register(toolPinRoutes, { runtime });
  await api.register(virtualServerRoutes, { runtime });
  await api.register(overviewRoutes, { runtime });
};
