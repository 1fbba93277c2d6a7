import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import { adminApi } from './admin/index.js';
import { gatewayRoutes } from './gateway/mcp-routes.js';
import { openApiRoute } from './admin/openapi.js';
import { loginRoutes } from './web/login-routes.js';
import { oidcLoginRoutes } from './web/oidc-login-routes.js';
import { rawRoutes } from './http/raw-routes.js';
import { echoRequestId, lazyChildLogger, requestIdFrom } from './log.js';
import { oauthServer } from './oauth/index.js';
import { metricsPlugin, registerAuditWriteMetrics } from './ops/metrics.js';
import { opsRoutes } from './ops/routes.js';
import { requestTracing } from './ops/tracing.js';
import { observeUpstreams } from './ops/upstream-observers.js';
import type { Runtime } from './runtime.js';
import { webAssets } from './web/assets.js';
import { authorizeRoutes } from './web/authorize-routes.js';
import { connectedAppsRoutes } from './web/connected-apps-routes.js';
import { callApprovalRoutes } from './web/call-approval-routes.js';
import { consoleRoutes } from './web/console/console-routes.js';
import { consentRoutes } from './web/consent-routes.js';
import { outboundClientRoutes } from './web/outbound-client-routes.js';
import { upstreamConnectRoutes } from './web/upstream-connect-routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Resolves once the server listens on every address of its host (http/raw-routes.ts `bindLocalhostTwins`). */
    allAddressesBound(): Promise<void>;
  }
}

/**
 * Builds the HTTP app: each surface is a plugin handed its dependencies, nothing global. Each declares the services
 * it uses (its `…Deps` interface); the runtime holds them all, so it is handed as is and the compiler checks the fit.
 */
export async function buildApp(runtime: Runtime, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const { config } = runtime;
  // /mcp and POST /oauth/token are served in front of Fastify (gateway/mcp-front-door.ts, oauth/token-front-door.ts);
  // everything else goes through it.
  const frontDoor = rawRoutes();
  const app = Fastify({
    serverFactory: frontDoor.serverFactory,
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: requestIdFrom,
    childLoggerFactory: lazyChildLogger,
    // Idle keep-alive sockets close at shutdown; requests in flight are allowed to finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.decorate('allAddressesBound', frontDoor.bindLocalhostTwins(app, config.host));
  app.addHook('onRequest', echoRequestId);
  await app.register(cookie, { secret: runtime.keys.cookieKey });
  await app.register(formbody);
  await app.register(requestTracing);
  await app.register(metricsPlugin, { database: runtime.store.database });
  registerAuditWriteMetrics(app.metricsRegistry, runtime.auditWrites);
  // Kept past the app's close: the last batch is written after it (server.ts), and its failure must be told too.
  runtime.auditWrites.onWriteFailure(({ stream, rows, error }) => app.log.error({ err: error, stream, rows }, `${rows} audit records could not be written`));
  await app.register(opsRoutes, { database: runtime.store.database, metricsToken: config.metricsToken });
  await app.register(webAssets);
  await app.register(loginRoutes, { deps: runtime });
  await app.register(oidcLoginRoutes, { deps: runtime });
  await app.register(authorizeRoutes, { deps: runtime });
  await app.register(consentRoutes, { deps: runtime });
  await app.register(connectedAppsRoutes, { deps: runtime });
  await app.register(consoleRoutes, { deps: runtime });
  await app.register(upstreamConnectRoutes, { deps: runtime });
  await app.register(callApprovalRoutes, { deps: runtime });
  await app.register(outboundClientRoutes, { deps: runtime });
  await app.register(oauthServer, { deps: runtime, rawRoutes: frontDoor });
  await app.register(gatewayRoutes, { deps: runtime, rawRoutes: frontDoor });
  await app.register(adminApi, { prefix: '/api', deps: runtime });
  await app.register(openApiRoute);
  const stopObserving = observeUpstreams({ registry: runtime.upstreams, outbound: runtime.outbound, log: app.log, metrics: app.metricsRegistry });
  app.addHook('onClose', async () => stopObserving());
  // Upstreams connect when the server starts (never for CLI commands) and disconnect when it stops.
  app.addHook('onReady', () => runtime.upstreams.start());
  app.addHook('onClose', () => runtime.upstreams.close());
  return app;
}
