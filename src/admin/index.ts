import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { sessionCsrf } from '../identity/session-csrf.js';
import type { Clock } from '../clock.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { browserSessions, type SessionDependencies } from '../identity/sessions.js';
import { apiKeyRoutes, type ApiKeyRouteDeps } from './api-keys.js';
import { auditRoutes, securityEventRoutes, type AuditRouteDeps } from './audit.js';
import { requireAdmin, type ApiAuthServices } from './auth.js';
import { apiErrorHandler, apiNotFoundHandler } from './envelope.js';
import { oauthClientRoutes, type OAuthClientRouteDeps } from './oauth-clients.js';
import { oauthGrantRoutes, type OAuthGrantRouteDeps } from './oauth-grants.js';
import { mcpClientRoutes, type McpClientRouteDeps } from './mcp-clients.js';
import { overviewRoutes, type OverviewDeps } from './overview.js';
import { serviceAccountRoutes, type ServiceAccountRouteDeps } from './service-accounts.js';
import { toolPinRoutes, type ToolPinRouteDeps } from './tool-pins.js';
import { userRoutes, type UserRouteDeps } from './users.js';
import { virtualServerRoutes, type VirtualServerRouteDeps } from './virtual-servers.js';

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

/** What /api's authentication uses: API keys, passwords, and the console's browser sessions with their CSRF key. */
export interface AdminAuthDeps extends ApiAuthServices, SessionDependencies {
  keys: Pick<KeyRing, 'cookieKey' | 'tokenHasher'>;
  clock: Clock;
}

/** What /api uses: its authentication, and what each group of routes uses. */
export type AdminApiDeps = AdminAuthDeps &
  UserRouteDeps &
  ApiKeyRouteDeps &
  OAuthGrantRouteDeps &
  OAuthClientRouteDeps &
  AuditRouteDeps &
  McpClientRouteDeps &
  ServiceAccountRouteDeps &
  ToolPinRouteDeps &
  VirtualServerRouteDeps &
  OverviewDeps;

/**
 * The management API, mounted at /api. Everything registered inside inherits its JSON-only body parsing,
 * its admin authentication and its error envelope; later surfaces (upstreams, OAuth callback) register here too.
 */
export const adminApi: FastifyPluginAsync<{ deps: AdminApiDeps }> = async (api, { deps }) => {
  acceptJsonOnly(api);
  api.setErrorHandler(apiErrorHandler);
  api.setNotFoundHandler(apiNotFoundHandler);
  api.decorateRequest('apiCaller', null);
  api.addHook('onRequest', async (_request, reply) => {
    // Responses may hold secrets (a new key): no cache may keep them.
    reply.header('cache-control', 'no-store');
  });
  api.addHook('onRequest', requireAdmin(deps, { sessions: browserSessions(deps, deps.clock), csrf: sessionCsrf(deps.keys.cookieKey) }));

  await api.register(userRoutes, { deps });
  await api.register(apiKeyRoutes, { deps });
  await api.register(oauthGrantRoutes, { deps });
  await api.register(oauthClientRoutes, { deps });
  await api.register(auditRoutes, { deps });
  await api.register(securityEventRoutes, { deps });
  await api.register(mcpClientRoutes, { deps });
  await api.register(serviceAccountRoutes, { deps });
  await api.register(toolPinRoutes, { deps });
  await api.register(virtualServerRoutes, { deps });
  await api.register(overviewRoutes, { deps });
};
