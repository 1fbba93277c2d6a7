import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import type { SigningKeyRing } from '../crypto/signing-keys.js';
import type { OpenedStore } from '../store/index.js';
import { allowCrossOriginCalls } from './cors.js';
import { oauthErrorHandler } from './errors.js';
import { authorizationServerMetadata, metadataPaths, protectedResourceMetadata } from './discovery-documents.js';
import { VIRTUAL_SERVER_NAME } from './resource.js';

// The documents change only with the config, so shared caches and clients may keep them a while.
const CACHE_CONTROL = 'public, max-age=300';

/** What discovery uses: the config the documents are made from, virtual servers' names, the public signing keys. */
export interface DiscoveryDeps {
  config: Pick<Config, 'publicUrl' | 'oauth' | 'sso'>;
  store: Pick<OpenedStore, 'virtualServers'>;
  signingKeys: Pick<SigningKeyRing, 'publicJwks'>;
}

/**
 * Discovery: RFC 8414 / OpenID metadata, RFC 9728 protected resource metadata and the signing keys, readable cross-origin by
 * browser-based clients. Any other /.well-known path is a JSON 404, so a probing client never mistakes a page
 * or a 5xx for an answer.
 */
export const metadataRoutes: FastifyPluginAsync<{ deps: DiscoveryDeps }> = async (app, { deps }) => {
  app.setErrorHandler(oauthErrorHandler);
  allowCrossOriginCalls(app);

  const paths = metadataPaths(deps.config);
  const serve = (document: object) => async (_request: unknown, reply: FastifyReply) =>
    reply.header('cache-control', CACHE_CONTROL).send(document);

  const authorizationServer = authorizationServerMetadata(deps.config);
  for (const path of paths.authorizationServer) app.get(path, serve(authorizationServer));
  const protectedResource = protectedResourceMetadata(deps.config);
  for (const path of paths.protectedResource) app.get(path, serve(protectedResource));

  // Each virtual server (/mcp/{name}) is a protected resource of its own: tokens for it carry its URL as audience.
  const virtualServers = deps.store.virtualServers;
  for (const path of paths.virtualServer) {
    app.get<{ Params: { name: string } }>(path, async (request, reply) => {
      const { name } = request.params;
      if (!VIRTUAL_SERVER_NAME.test(name) || !(await virtualServers.find(name))) {
        return reply.code(404).send({ error: 'not_found', error_description: `no virtual server is named ${JSON.stringify(name)}` });
      }
      return reply.header('cache-control', CACHE_CONTROL).send(protectedResourceMetadata(deps.config, name));
    });
  }

  // Verifiers may cache the set for 5 minutes: a rotation publishes the next key well before it signs.
  app.get('/oauth/jwks', async (_request, reply) => reply.header('cache-control', CACHE_CONTROL).send(await deps.signingKeys.publicJwks()));

  app.all('/.well-known/*', async (_request, reply) =>
    reply.code(404).send({ error: 'not_found', error_description: 'no metadata document at this path' }),
  );
};
