import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditKind, AuditLog } from '../audit/audit-log.js';
import { publicUser, UserInputError, type UserService } from '../identity/users.js';
import { SERVICE_ACCOUNT_SOURCE } from '../oauth/service-accounts.js';
import type { UserRecord, OpenedStore } from '../store/index.js';
import { ApiError } from './envelope.js';

export const createUserBody = z.strictObject({
  username: z.string(),
  password: z.string(),
  is_admin: z.boolean().optional(),
});

export const userIdParams = z.strictObject({ id: z.string().min(1).max(100) });
export const updateUserBody = z
  .strictObject({
    disabled: z.boolean().optional().describe('true disables the user: their sessions end and their tokens and API keys stop working at once'),
    is_admin: z.boolean().optional().describe('Local users only; an SSO user’s admin flag follows their groups'),
  })
  .refine((body) => body.disabled !== undefined || body.is_admin !== undefined, 'give disabled, is_admin or both');
export const resetPasswordBody = z.strictObject({ password: z.string() });

/** The service's refusals, in envelope terms: a taken name or a refused change is a conflict, anything else names the bad field. */
function toApiError(error: unknown): unknown {
  if (!(error instanceof UserInputError)) return error;
  return error.conflict
    ? new ApiError(409, error.code, error.message, { param: error.field })
    : new ApiError(400, error.code, error.message, { param: error.field });
}

async function orApiError<T>(action: () => Promise<T>): Promise<T> {
  return action().catch((error: unknown) => {
    throw toApiError(error);
  });
}

/** What the user routes use: the user service, users by id, and the audit. */
export interface UserRouteDeps {
  store: Pick<OpenedStore, 'users'>;
  users: UserService;
  audit: AuditLog;
}

/**
 * `GET|POST /api/users`, `PATCH|DELETE /api/users/{id}`, `POST /api/users/{id}/password`; `GET /api/me` for any user.
 * Service accounts are users too, but they are changed through /api/service-accounts.
 */
export const userRoutes: FastifyPluginAsync<{ deps: UserRouteDeps }> = async (api, { deps }) => {
  /** Step: the user the path names, or 404; a service account is refused, it has its own routes. */
  async function targetOf(request: FastifyRequest): Promise<UserRecord> {
    const { id } = userIdParams.parse(request.params);
    const user = await deps.store.users.findById(id);
    if (!user) throw new ApiError(404, 'not_found', 'no user has this id', { param: 'id' });
    if (user.source === SERVICE_ACCOUNT_SOURCE) {
      throw new ApiError(409, 'service_account', `${user.username} is a service account; use /api/service-accounts`, { param: 'id' });
    }
    return user;
  }

  /** Step: who changed which user, in the security events (never the password). */
  function recordChange(request: FastifyRequest, kind: AuditKind, user: UserRecord, detail: Record<string, unknown> = {}) {
    return deps.audit.record(kind, { userId: request.apiCaller?.user.id ?? null, ip: request.ip, detail: { user: user.username, user_id: user.id, ...detail } });
  }

  api.get('/me', { config: { apiAuth: 'user' } }, async (request) => publicUser(request.apiCaller!.user));

  api.get('/users', async () => {
    const users = await deps.users.list();
    return { users: users.map(publicUser) };
  });

  api.post('/users', async (request, reply) => {
    const input = createUserBody.parse(request.body);
    const user = await orApiError(() => deps.users.create({ username: input.username, password: input.password, isAdmin: input.is_admin }));
    await recordChange(request, 'user.created', user, { is_admin: user.isAdmin });
    return reply.code(201).send(publicUser(user));
  });

  api.patch('/users/:id', async (request) => {
    const user = await targetOf(request);
    const change = updateUserBody.parse(request.body);
    let updated = user;
    if (change.is_admin !== undefined) updated = await orApiError(() => deps.users.setAdmin(user.username, change.is_admin!));
    if (change.disabled === true) updated = await orApiError(() => deps.users.disable(user.username));
    if (change.disabled === false) updated = await orApiError(() => deps.users.enable(user.username));
    await recordChange(request, 'user.updated', updated, change);
    return publicUser(updated);
  });

  api.post('/users/:id/password', async (request) => {
    const user = await targetOf(request);
    const { password } = resetPasswordBody.parse(request.body);
    const updated = await orApiError(() => deps.users.setPassword(user.username, password));
    await recordChange(request, 'user.password_reset', updated);
    return publicUser(updated);
  });

  api.delete('/users/:id', async (request, reply) => {
    const user = await targetOf(request);
    await orApiError(() => deps.users.remove(user.username));
    await recordChange(request, 'user.deleted', user);
    return reply.code(204).send();
  });
};
