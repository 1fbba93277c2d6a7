import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { publicUser, UserInputError } from '../identity/users.js';
import type { Runtime } from '../runtime.js';
import { ApiError } from './envelope.js';

export const createUserBody = z.strictObject({
  username: z.string(),
  password: z.string(),
  is_admin: z.boolean().optional(),
});

/** The service's refusals, in envelope terms: a taken name is a conflict, anything else names the bad field. */
function toApiError(error: UserInputError): ApiError {
  return error.conflict
    ? new ApiError(409, 'username_taken', error.message, { param: error.field })
    : new ApiError(400, 'validation_failed', error.message, { param: error.field });
}

/** `GET|POST /api/users`; `GET /api/me` for any user. */
export const userRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (api, { runtime }) => {
  api.get('/me', { config: { apiAuth: 'user' } }, async (request) => publicUser(request.apiCaller!.user));

  api.get('/users', async () => {
    const users = await runtime.users.list();
    return { users: users.map(publicUser) };
  });

  api.post('/users', async (request, reply) => {
    const input = createUserBody.parse(request.body);
    const user = await runtime.users
      .create({ username: input.username, password: input.password, isAdmin: input.is_admin })
      .catch((error: unknown) => {
        throw error instanceof UserInputError ? toApiError(error) : error;
      });
    return reply.code(201).send(publicUser(user));
  });
};
