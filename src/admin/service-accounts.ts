import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { serviceAccountService, ServiceAccountInputError } from '../oauth/service-accounts.js';
import { ApiError } from './envelope.js';
import type { Clock } from '../clock.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { OpenedStore } from '../store/index.js';

export const createServiceAccountBody = z.strictObject({
  name: z.string(),
  groups: z.array(z.string().min(1).max(256)).max(1000).optional(),
  scopes: z.array(z.string()).optional(),
});

const idParams = z.object({ id: z.string() });
const notFound = () => new ApiError(404, 'not_found', 'no service account has this id', { param: 'id' });

function toApiError(error: unknown): unknown {
  if (!(error instanceof ServiceAccountInputError)) return error;
  return error.conflict
    ? new ApiError(409, 'name_taken', error.message, { param: error.field })
    : new ApiError(400, 'validation_failed', error.message, { param: error.field });
}

/** What the service account routes use: the accounts with their users and clients, the secrets' hasher, the clock. */
export interface ServiceAccountRouteDeps {
  store: Pick<OpenedStore, 'serviceAccounts' | 'users'>;
  keys: Pick<KeyRing, 'tokenHasher'>;
  clock: Clock;
}

/**
 * `GET|POST /api/service-accounts`, `POST /api/service-accounts/{id}/rotate-secret`, `DELETE
 * /api/service-accounts/{id}`, for admins. The secret is in the answer of creation and rotation only.
 */
export const serviceAccountRoutes: FastifyPluginAsync<{ deps: ServiceAccountRouteDeps }> = async (api, { deps }) => {
  const accounts = serviceAccountService(deps, deps.clock);

  api.get('/service-accounts', async () => ({ service_accounts: await accounts.list() }));

  api.post('/service-accounts', async (request, reply) => {
    const input = createServiceAccountBody.parse(request.body);
    const { view, secret } = await accounts.create(input).catch((error: unknown) => {
      throw toApiError(error);
    });
    return reply.code(201).send({ ...view, client_secret: secret });
  });

  api.post('/service-accounts/:id/rotate-secret', async (request) => {
    const rotated = await accounts.rotateSecret(idParams.parse(request.params).id);
    if (!rotated) throw notFound();
    return { ...rotated.view, client_secret: rotated.secret };
  });

  api.delete('/service-accounts/:id', async (request, reply) => {
    if (!(await accounts.delete(idParams.parse(request.params).id))) throw notFound();
    return reply.code(204).send();
  });
};
