import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { removeClient } from '../oauth/client-registry.js';
import type { ClientMetadata } from '../oauth/clients.js';
import { issueInitialAccessToken } from '../oauth/registration-limits.js';
import type { InitialAccessTokenRecord, OAuthClientRecord, OpenedStore } from '../store/index.js';
import { ApiError } from './envelope.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { UserService } from '../identity/users.js';

export const clientIdParams = z.strictObject({ id: z.string().min(1).max(2048) });
export const initialAccessTokenIdParams = z.strictObject({ id: z.string().min(1).max(100) });
export const createInitialAccessTokenBody = z.strictObject({
  expires_in: z.number().int().min(60).max(30 * 24 * 3600).optional().describe('Lifetime in seconds (default 86400, at most 30 days)'),
});

/** A client as admins see it: its metadata and origin, never a secret hash or registration token hash. */
export interface ClientView {
  client_id: string;
  kind: OAuthClientRecord['kind'];
  token_endpoint_auth_method: OAuthClientRecord['authMethod'];
  metadata: ClientMetadata;
  created_ip: string | null;
  created_at: string;
  updated_at: string;
}

export interface InitialAccessTokenView {
  id: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
}

const iso = (at: number) => new Date(at).toISOString();
const isoOrNull = (at: number | null) => (at === null ? null : iso(at));

function clientView(record: OAuthClientRecord): ClientView {
  return {
    client_id: record.clientId,
    kind: record.kind,
    token_endpoint_auth_method: record.authMethod,
    metadata: JSON.parse(record.metadata) as ClientMetadata,
    created_ip: record.createdIp,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
  };
}

function tokenView(record: InitialAccessTokenRecord, usernames: Map<string, string>): InitialAccessTokenView {
  return {
    id: record.id,
    created_by: record.createdBy === null ? null : (usernames.get(record.createdBy) ?? null),
    created_at: iso(record.createdAt),
    expires_at: iso(record.expiresAt),
    used_at: isoOrNull(record.usedAt),
    revoked_at: isoOrNull(record.revokedAt),
  };
}

const clientNotFound = () => new ApiError(404, 'not_found', 'no client has this id', { param: 'id' });

/** What the client routes use: the clients (removed with their grants and consents), initial access tokens, the clock. */
export interface OAuthClientRouteDeps {
  store: Pick<OpenedStore, 'clients' | 'grants' | 'consents' | 'initialAccessTokens'>;
  keys: Pick<KeyRing, 'tokenHasher'>;
  users: Pick<UserService, 'list'>;
  audit: AuditLog;
  clock: Clock;
}

/**
 * `GET /api/oauth/clients`, `GET|DELETE /api/oauth/clients/{id}` and the initial access tokens of the closed
 * registration policy: `POST|GET /api/oauth/initial-access-tokens`, `DELETE /api/oauth/initial-access-tokens/{id}`.
 */
export const oauthClientRoutes: FastifyPluginAsync<{ deps: OAuthClientRouteDeps }> = async (api, { deps }) => {
  const { store } = deps;
  const callerId = (request: FastifyRequest) => request.apiCaller?.user.id ?? null;

  api.get('/oauth/clients', async () => ({ clients: (await store.clients.list()).map(clientView) }));

  api.get('/oauth/clients/:id', async (request) => {
    const { id } = clientIdParams.parse(request.params);
    const record = await store.clients.find(id);
    if (!record) throw clientNotFound();
    return clientView(record);
  });

  api.delete('/oauth/clients/:id', async (request, reply) => {
    const { id } = clientIdParams.parse(request.params);
    // A service account's client goes with its account, so that neither is left without the other.
    if ((await deps.store.clients.find(id))?.kind === 'service_account') {
      throw new ApiError(409, 'service_account_client', 'this client belongs to a service account: DELETE /api/service-accounts/{id} removes both', { param: 'id' });
    }
    const removed = await removeClient(deps, id, { userId: callerId(request), ip: request.ip, reason: 'client deleted by an admin', now: deps.clock() });
    if (!removed) throw clientNotFound();
    return reply.code(204).send();
  });

  api.post('/oauth/initial-access-tokens', async (request, reply) => {
    const body = createInitialAccessTokenBody.parse(request.body ?? {});
    const issued = await issueInitialAccessToken(
      { initialAccessTokens: store.initialAccessTokens, hasher: deps.keys.tokenHasher },
      { createdBy: callerId(request), expiresInSeconds: body.expires_in, now: deps.clock() },
    );
    return reply.code(201).send({ id: issued.id, token: issued.token, expires_at: iso(issued.expiresAt) });
  });

  api.get('/oauth/initial-access-tokens', async () => {
    const usernames = new Map((await deps.users.list()).map((user) => [user.id, user.username]));
    return { initial_access_tokens: (await store.initialAccessTokens.list()).map((record) => tokenView(record, usernames)) };
  });

  api.delete('/oauth/initial-access-tokens/:id', async (request, reply) => {
    const { id } = initialAccessTokenIdParams.parse(request.params);
    const known = (await store.initialAccessTokens.list()).some((record) => record.id === id);
    if (!known) throw new ApiError(404, 'not_found', 'no initial access token has this id', { param: 'id' });
    // Revoking a revoked (or used) token succeeds again: the outcome the caller wants already holds.
    await store.initialAccessTokens.revoke(id, deps.clock());
    return reply.code(204).send();
  });
};
