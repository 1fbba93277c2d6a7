import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { registeredClient } from '../oauth/clients.js';
import type { GrantRecord, UserRecord, OpenedStore } from '../store/index.js';
import { ApiError } from './envelope.js';
import type { UserService } from '../identity/users.js';
import type { GrantService } from '../oauth/grants.js';

const includeRevoked = z.enum(['true', 'false']).transform((value) => value === 'true');

export const grantListQuery = z.strictObject({
  user: z.string().min(1).max(256).optional().describe('Only the grants of this username'),
  client_id: z.string().min(1).max(2048).optional().describe('Only the grants of this client'),
  include_revoked: includeRevoked.optional().describe('Also list revoked grants (default false)'),
});
export const myGrantListQuery = grantListQuery.omit({ user: true });
export const grantIdParams = z.strictObject({ id: z.string().min(1).max(100) });

/** A grant as the API shows it: what a user let a client do, and whether it still may. */
export interface GrantView {
  id: string;
  user: string;
  client_id: string;
  client_name: string | null;
  scope: string;
  resource: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
}

const iso = (at: number) => new Date(at).toISOString();
const isoOrNull = (at: number | null) => (at === null ? null : iso(at));

function callerOf(request: FastifyRequest): UserRecord {
  if (!request.apiCaller) throw new ApiError(401, 'unauthorized', 'credentials are required');
  return request.apiCaller.user;
}

const grantNotFound = () => new ApiError(404, 'not_found', 'no grant has this id', { param: 'id' });

/** What the grant routes use: grants, their clients and consents, users by name, and revocation. */
export interface OAuthGrantRouteDeps {
  store: Pick<OpenedStore, 'grants' | 'clients' | 'consents'>;
  users: Pick<UserService, 'find' | 'list'>;
  grants: Pick<GrantService, 'revoke'>;
}

/**
 * `GET /api/oauth/grants`, `DELETE /api/oauth/grants/{id}` for admins; `GET /api/me/grants`,
 * `DELETE /api/me/grants/{id}` for any user, limited to their own grants (another user's id is a 404, as unknown).
 */
export const oauthGrantRoutes: FastifyPluginAsync<{ deps: OAuthGrantRouteDeps }> = async (api, { deps }) => {
  const { store } = deps;

  /** Step: the names that make a grant readable, looked up once per distinct user and client. */
  async function viewsOf(grants: GrantRecord[]): Promise<GrantView[]> {
    const users = new Map((await deps.users.list()).map((user) => [user.id, user.username]));
    const clientIds = [...new Set(grants.map((grant) => grant.clientId))];
    const records = await Promise.all(clientIds.map((id) => store.clients.find(id)));
    const clientNames = new Map(clientIds.map((id, i) => [id, records[i] ? registeredClient(records[i]).metadata.client_name ?? null : null]));
    return grants.map((grant) => ({
      id: grant.id,
      user: users.get(grant.userId) ?? '',
      client_id: grant.clientId,
      client_name: clientNames.get(grant.clientId) ?? null,
      scope: grant.scope,
      resource: grant.resource,
      created_at: iso(grant.createdAt),
      last_used_at: isoOrNull(grant.lastUsedAt),
      expires_at: iso(grant.expiresAt),
      revoked_at: isoOrNull(grant.revokedAt),
      revoked_reason: grant.revokedReason,
    }));
  }

  /**
   * Step: revoke through the grant service, so every token of the grant stops at once and it is audited; and
   * forget the remembered consent, so the client cannot come back without the user saying yes again.
   */
  async function revoke(request: FastifyRequest, grant: GrantRecord, reason: string): Promise<void> {
    await deps.grants.revoke(grant.id, reason, { userId: callerOf(request).id, ip: request.ip });
    await store.consents.deleteForUserAndClient(grant.userId, grant.clientId);
  }

  api.get('/oauth/grants', async (request) => {
    const query = grantListQuery.parse(request.query);
    const user = query.user === undefined ? undefined : await deps.users.find(query.user);
    // An unknown username has no grants: the filter matches nothing rather than failing.
    if (query.user !== undefined && !user) return { grants: [] };
    const grants = await store.grants.list({ userId: user?.id, clientId: query.client_id, includeRevoked: query.include_revoked });
    return { grants: await viewsOf(grants) };
  });

  api.delete('/oauth/grants/:id', async (request, reply) => {
    const { id } = grantIdParams.parse(request.params);
    const grant = await store.grants.find(id);
    if (!grant) throw grantNotFound();
    await revoke(request, grant, 'revoked by an admin');
    return reply.code(204).send();
  });

  api.get('/me/grants', { config: { apiAuth: 'user' } }, async (request) => {
    const query = myGrantListQuery.parse(request.query);
    const grants = await store.grants.list({ userId: callerOf(request).id, clientId: query.client_id, includeRevoked: query.include_revoked });
    return { grants: await viewsOf(grants) };
  });

  api.delete('/me/grants/:id', { config: { apiAuth: 'user' } }, async (request, reply) => {
    const { id } = grantIdParams.parse(request.params);
    const grant = await store.grants.find(id);
    if (!grant || grant.userId !== callerOf(request).id) throw grantNotFound();
    await revoke(request, grant, 'revoked by its user');
    return reply.code(204).send();
  });
};
