import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../runtime.js';
import { metadataRoutes } from './discovery-routes.js';
import { registrationRoutes } from './registration-routes.js';
import { revocationRoutes } from './revocation-routes.js';
import { tokenRoutes } from './token-routes.js';

/** The authorization server's machine-facing endpoints; the browser-facing ones (authorize, consent) live in web/. */
export const oauthServer: FastifyPluginAsync<{ runtime: Runtime }> = async (app, { runtime }) => {
  await app.register(metadataRoutes, { runtime });
  await app.register(registrationRoutes, { runtime });
  await app.register(tokenRoutes, { runtime });
  await app.register(revocationRoutes, { runtime });
};
