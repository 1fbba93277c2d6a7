import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyRecord, UserRecord } from '../store/index.js';
import { ApiError } from './envelope.js';
import type { ApiKeyService } from '../identity/api-keys.js';
import type { UserService } from '../identity/users.js';

export const createApiKeyBody = z.strictObject({
  name: z.string().trim().min(1, 'name must not be empty').max(100, 'name must be at most 100 characters'),
  /** Whose key it is; the caller's own user when left out. */
  username: z.string().optional(),
});

export const apiKeyIdParams = z.strictObject({ id: z.string().min(1).max(100) });

/** A key as the API shows it: never the hash, and the plaintext only once, in the creation response. */
export interface ApiKeyView {
  id: string;
  name: string;
  user: string;
  user_id: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  revoked: boolean;
}

export function apiKeyView(key: ApiKeyRecord, username: string): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    user: username,
    user_id: key.userId,
    hint: key.hint,
    created_at: new Date(key.createdAt).toISOString(),
    last_used_at: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
    revoked: key.revokedAt !== null,
  };
}

/** `/api` always has a caller here: the authentication hook ran before any handler. */
function callerOf(request: FastifyRequest): UserRecord {
  if (!request.apiCaller) throw new ApiError(401, 'unauthorized', 'credentials are required');
  return request.apiCaller.user;
}

/** What the API key routes use: the owners by name, and the keys. */
export interface ApiKeyRouteDeps {
  users: Pick<UserService, 'find' | 'list'>;
  apiKeys: Pick<ApiKeyService, 'create' | 'list' | 'revoke'>;
}

/** `GET|POST /api/apikeys`, `DELETE /api/apikeys/{id}`. */
export const apiKeyRoutes: FastifyPluginAsync<{ deps: ApiKeyRouteDeps }> = async (api, { deps }) => {
  const ownerFor = async (request: FastifyRequest, username: string | undefined): Promise<UserRecord> => {
    if (username === undefined) return callerOf(request);
    const user = await deps.users.find(username);
    if (!user) throw new ApiError(400, 'unknown_user', `no user named ${JSON.stringify(username)}`, { param: 'username' });
    if (user.disabledAt !== null) throw new ApiError(400, 'user_disabled', `user ${JSON.stringify(user.username)} is disabled`, { param: 'username' });
    return user;
  };

  api.get('/apikeys', async () => {
    const [keys, users] = await Promise.all([deps.apiKeys.list(), deps.users.list()]);
    const usernames = new Map(users.map((user) => [user.id, user.username]));
    return { api_keys: keys.map((key) => apiKeyView(key, usernames.get(key.userId) ?? '')) };
  });

  api.post('/apikeys', async (request, reply) => {
    const input = createApiKeyBody.parse(request.body);
    const owner = await ownerFor(request, input.username);
    const { record, token } = await deps.apiKeys.create({ user: owner, name: input.name });
    return reply.code(201).send({ ...apiKeyView(record, owner.username), key: token });
  });

  api.delete('/apikeys/:id', async (request, reply) => {
    const { id } = apiKeyIdParams.parse(request.params);
    if (!(await deps.apiKeys.revoke(id))) throw new ApiError(404, 'not_found', 'no API key has this id', { param: 'id' });
    return reply.code(204).send();
  });
};
