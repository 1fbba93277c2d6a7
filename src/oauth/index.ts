import type { FastifyPluginAsync } from 'fastify';
import type { RawRoutes } from '../http/raw-routes.js';
import { metadataRoutes, type DiscoveryDeps } from './discovery-routes.js';
import { registrationRoutes, type RegistrationDeps } from './registration-routes.js';
import { revocationRoutes, type RevocationDeps } from './revocation-routes.js';
import { tokenRoutes, type TokenRouteDeps } from './token-routes.js';

/** What the machine-facing endpoints use, together. */
export type OAuthServerDeps = DiscoveryDeps & RegistrationDeps & TokenRouteDeps & RevocationDeps;

/**
 * The authorization server's machine-facing endpoints; the browser-facing ones (authorize, consent) live in web/.
 * `rawRoutes`: the server's front door (app.ts), where POST /oauth/token is served outside Fastify.
 */
export const oauthServer: FastifyPluginAsync<{ deps: OAuthServerDeps; rawRoutes?: RawRoutes }> = async (app, { deps, rawRoutes }) => {
  await app.register(metadataRoutes, { deps });
  await app.register(registrationRoutes, { deps });
  await app.register(tokenRoutes, { deps, rawRoutes });
  await app.register(revocationRoutes, { deps });
};
