import type { AuditLog } from '../audit/audit-log.js';
import { secretsEqual, type KeyedHasher } from '../crypto/keyed-hash.js';
import { issueToken, newId } from '../crypto/random.js';
import type { OAuthClientRecord, OpenedStore } from '../store/index.js';
import type { ClientMetadata } from './clients.js';
import { OAuthError } from './errors.js';
import { bearerToken } from '../http/authorization-header.js';

/** What the registry needs from the runtime. */
export interface ClientRegistryDeps {
  store: Pick<OpenedStore, 'clients' | 'grants' | 'consents'>;
  hasher: KeyedHasher;
  audit: AuditLog;
  publicUrl: string;
}

/** RFC 7591 §3.2.1 / RFC 7592 §3 client information response. */
export type ClientInformation = ClientMetadata & {
  client_id: string;
  client_id_issued_at: number;
  client_secret?: string;
  client_secret_expires_at?: number;
  registration_access_token: string;
  registration_client_uri: string;
};

export function registrationClientUri(publicUrl: string, clientId: string): string {
  return `${publicUrl}/oauth/register/${encodeURIComponent(clientId)}`;
}

/**
 * The response body: the stored metadata (no nulls: absent fields were never stored), the client's ids and,
 * when just issued, its secret. The registration access token is the one issued or presented: only its hash is kept.
 */
export function clientInformation(
  record: OAuthClientRecord,
  publicUrl: string,
  tokens: { registrationAccessToken: string; clientSecret?: string },
): ClientInformation {
  const metadata = JSON.parse(record.metadata) as ClientMetadata;
  const confidential = record.authMethod !== 'none';
  return {
    client_id: record.clientId,
    client_id_issued_at: Math.floor(record.createdAt / 1000),
    ...metadata,
    ...(tokens.clientSecret ? { client_secret: tokens.clientSecret } : {}),
    ...(confidential ? { client_secret_expires_at: Math.floor((record.secretExpiresAt ?? 0) / 1000) } : {}),
    registration_access_token: tokens.registrationAccessToken,
    registration_client_uri: registrationClientUri(publicUrl, record.clientId),
  };
}

/** Stores a new dynamic client; its secret (confidential clients only) and registration access token exist only in the result. */
export async function createDynamicClient(
  deps: ClientRegistryDeps,
  metadata: ClientMetadata,
  context: { ip: string; now: number },
): Promise<{ record: OAuthClientRecord; clientSecret?: string; registrationAccessToken: string }> {
  const clientSecret = metadata.token_endpoint_auth_method === 'none' ? undefined : issueToken('clientSecret');
  const registrationAccessToken = issueToken('registrationAccessToken');
  const record: OAuthClientRecord = {
    clientId: newId('cli'),
    kind: 'dynamic',
    authMethod: metadata.token_endpoint_auth_method,
    secretHash: clientSecret ? deps.hasher.hash(clientSecret) : null,
    // Secrets do not expire (client_secret_expires_at: 0); deleting the client ends them.
    secretExpiresAt: clientSecret ? 0 : null,
    registrationTokenHash: deps.hasher.hash(registrationAccessToken),
    metadata: JSON.stringify(metadata),
    metadataExpiresAt: null,
    createdIp: context.ip,
    createdAt: context.now,
    updatedAt: context.now,
  };
  await deps.store.clients.create(record);
  await deps.audit.record('client.registered', {
    clientId: record.clientId,
    ip: context.ip,
    detail: { client_name: metadata.client_name ?? null, token_endpoint_auth_method: record.authMethod },
  });
  return { record, clientSecret, registrationAccessToken };
}

function matchesHash(secret: string, hasher: KeyedHasher, stored: string | null): boolean {
  // Every candidate is compared, found or not, so the work does not depend on which one matches.
  const results = hasher.candidates(secret).map((candidate) => stored !== null && secretsEqual(candidate, stored));
  return results.includes(true);
}

/**
 * RFC 7592 §2: the dynamic client the registration access token belongs to. A missing or wrong token and an
 * unknown client get the same 401, so the endpoint does not tell which client ids exist.
 */
export async function clientForRegistrationAccess(
  deps: Pick<ClientRegistryDeps, 'store' | 'hasher'>,
  clientId: string,
  authorization: string | undefined,
): Promise<{ record: OAuthClientRecord; registrationAccessToken: string }> {
  const token = bearerToken(authorization);
  const found = await deps.store.clients.find(clientId);
  const record = found?.kind === 'dynamic' ? found : undefined;
  // The hash is computed whether or not the client exists, so timing does not tell either.
  const matches = token !== undefined && matchesHash(token, deps.hasher, record?.registrationTokenHash ?? null);
  if (record && matches) return { record, registrationAccessToken: token! };
  throw new OAuthError('invalid_token', 'a valid registration access token for this client is required', 401, {
    'www-authenticate': 'Bearer error="invalid_token"',
  });
}

/** RFC 7592 §2.2: replaces the metadata; the client id and, if repeated, the secret must be the client's own. */
export async function replaceClientMetadata(
  deps: ClientRegistryDeps,
  record: OAuthClientRecord,
  request: ClientMetadata & { client_id?: string; client_secret?: string },
  context: { ip: string; now: number },
): Promise<OAuthClientRecord> {
  const { client_id: clientId, client_secret: clientSecret, ...metadata } = request;
  if (clientId !== undefined && clientId !== record.clientId) throw new OAuthError('invalid_request', 'client_id does not match the client being updated');
  if (clientSecret !== undefined && !matchesHash(clientSecret, deps.hasher, record.secretHash)) {
    throw new OAuthError('invalid_request', 'client_secret does not match the client being updated');
  }
  // A secret can be neither added nor taken away here: that is a new registration.
  if (metadata.token_endpoint_auth_method !== record.authMethod) {
    throw new OAuthError('invalid_client_metadata', `token_endpoint_auth_method cannot change from ${record.authMethod}; register a new client`);
  }
  const updated = { ...record, metadata: JSON.stringify(metadata), updatedAt: context.now };
  await deps.store.clients.update(record.clientId, updated);
  await deps.audit.record('client.updated', { clientId: record.clientId, ip: context.ip, detail: { client_name: metadata.client_name ?? null } });
  return updated;
}

/**
 * Deletes a client: its grants are revoked first (so their tokens stop at once), its remembered consents go,
 * then the client itself. False when there was no such client.
 */
export async function removeClient(
  deps: Pick<ClientRegistryDeps, 'store' | 'audit'>,
  clientId: string,
  by: { userId?: string | null; ip: string; reason: string; now: number },
): Promise<boolean> {
  if (!(await deps.store.clients.find(clientId))) return false;
  const revokedGrants = await deps.store.grants.revokeForClient(clientId, by.reason, by.now);
  await deps.store.consents.deleteForClient(clientId);
  const deleted = await deps.store.clients.delete(clientId);
  if (deleted) {
    await deps.audit.record('client.deleted', { clientId, userId: by.userId ?? null, ip: by.ip, detail: { reason: by.reason, revoked_grants: revokedGrants } });
  }
  return deleted;
}
