import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../runtime.js';
import { CLIENT_METADATA_DOCUMENT_PATH, clientMetadataDocument } from '../upstream/oauth/client-registration.js';

/**
 * Gatehouse as the OAuth client of upstreams, on the outside: its Client ID Metadata Document, which upstream
 * authorization servers that support them fetch instead of registering Gatehouse (public and cacheable: it holds
 * no secret). The keeper of upstream tokens and the follower of other replicas' authorizations are background
 * jobs (src/jobs.ts).
 */
export const outboundClientRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  const document = clientMetadataDocument(runtime.config.publicUrl);
  app.get(CLIENT_METADATA_DOCUMENT_PATH, async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(document));
};
