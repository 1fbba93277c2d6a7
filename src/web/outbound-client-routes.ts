import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../runtime.js';
import { CLIENT_METADATA_DOCUMENT_PATH, clientMetadataDocument } from '../upstream/oauth/client-registration.js';

/** How often connections whose upstream tokens are about to expire are refreshed, used or not. */
const TOKEN_KEEPER_INTERVAL_MS = 60_000;

/**
 * Gatehouse as the OAuth client of upstreams, on the outside: its Client ID Metadata Document, which upstream
 * authorization servers that support them fetch instead of registering Gatehouse (public and cacheable: it holds
 * no secret), and the keeper that refreshes upstream tokens ahead of expiry while the server runs.
 */
export const outboundClientRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  const document = clientMetadataDocument(runtime.config.publicUrl);
  app.get(CLIENT_METADATA_DOCUMENT_PATH, async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(document));
  keepTokensFresh(app, runtime);
};

function keepTokensFresh(app: FastifyInstance, runtime: Runtime): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      runtime.outbound.refreshDue().catch((error: unknown) => app.log.warn({ err: error }, 'refreshing upstream tokens failed'));
    }, TOKEN_KEEPER_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
