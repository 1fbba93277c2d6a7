import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../runtime.js';
import { CLIENT_METADATA_DOCUMENT_PATH, clientMetadataDocument } from '../upstream/oauth/client-registration.js';

/** How often connections whose upstream tokens are about to expire are refreshed, used or not. */
const TOKEN_KEEPER_INTERVAL_MS = 60_000;
/** How often authorizations completed on other replicas are picked up (as often as the registry re-reads upstreams). */
const FOLLOW_INTERVAL_MS = 5_000;

/**
 * Gatehouse as the OAuth client of upstreams, on the outside: its Client ID Metadata Document, which upstream
 * authorization servers that support them fetch instead of registering Gatehouse (public and cacheable: it holds
 * no secret); and, while the server runs, the keeper that refreshes upstream tokens ahead of expiry and the
 * follower that announces authorizations completed on other replicas.
 */
export const outboundClientRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  const document = clientMetadataDocument(runtime.config.publicUrl);
  app.get(CLIENT_METADATA_DOCUMENT_PATH, async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(document));
  every(app, TOKEN_KEEPER_INTERVAL_MS, 'refreshing upstream tokens failed', () => runtime.outbound.refreshDue());
  every(app, FOLLOW_INTERVAL_MS, 'following upstream authorizations failed', () => runtime.outbound.followAuthorizations());
};

/** Runs `work` every `intervalMs` while the app is up; the timer never keeps the process alive. */
function every(app: FastifyInstance, intervalMs: number, failure: string, work: () => Promise<unknown>): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => void work().catch((error: unknown) => app.log.warn({ err: error }, failure)), intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
