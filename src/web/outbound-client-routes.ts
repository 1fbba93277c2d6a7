import type { FastifyPluginAsync } from 'fastify';
import { CLIENT_METADATA_DOCUMENT_PATH, clientMetadataDocument } from '../upstream/oauth/client-registration.js';
import type { Config } from '../config.js';

/** The document is made from the public URL alone. */
export interface OutboundClientRouteDeps {
  config: Pick<Config, 'publicUrl'>;
}

/**
 * Gatehouse as the OAuth client of upstreams, on the outside: its Client ID Metadata Document, which upstream
 * authorization servers that support them fetch instead of registering Gatehouse (public and cacheable: it holds
 * no secret). The keeper of upstream tokens and the follower of other replicas' authorizations are background
 * jobs (src/jobs.ts).
 */
export const outboundClientRoutes: FastifyPluginAsync<{ deps: OutboundClientRouteDeps }> = async (app, { deps }) => {
  const document = clientMetadataDocument(deps.config.publicUrl);
  app.get(CLIENT_METADATA_DOCUMENT_PATH, async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(document));
};
