import { newId } from '../../src/crypto/random.js';
import type { ClientMetadata } from '../../src/oauth/clients.js';
import type { Runtime } from '../../src/runtime.js';
import type { ClientKind, GrantRecord, OAuthClientRecord } from '../../src/store/index.js';

/** A public client's row as registration (or a metadata-document fetch at `at`) stores it. */
export function publicClientRecord(clientId: string, kind: ClientKind, at: number, name?: string): OAuthClientRecord {
  const metadata: ClientMetadata = {
    redirect_uris: ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(name === undefined ? {} : { client_name: name }),
  };
  return {
    clientId,
    kind,
    authMethod: 'none',
    secretHash: null,
    secretExpiresAt: null,
    registrationTokenHash: null,
    metadata: JSON.stringify(metadata),
    metadataExpiresAt: kind === 'metadata_document' ? at + 3600_000 : null,
    createdIp: null,
    createdAt: at,
    updatedAt: at,
  };
}

/** Stores a public client as registration (or a metadata-document fetch) would, and returns its id. */
export async function storeClient(
  runtime: Runtime,
  options: { name?: string; kind?: ClientKind; clientId?: string } = {},
): Promise<string> {
  const kind = options.kind ?? 'dynamic';
  const clientId = options.clientId ?? (kind === 'dynamic' ? newId('cli') : `https://${newId('app').toLowerCase()}.example/client.json`);
  await runtime.store.clients.create(publicClientRecord(clientId, kind, Date.now(), options.name));
  return clientId;
}

/** Stores a live grant of `clientId` to `userId`, as consent would, and returns it. */
export async function storeGrant(
  runtime: Runtime,
  userId: string,
  clientId: string,
  overrides: Partial<GrantRecord> = {},
): Promise<GrantRecord> {
  const at = overrides.createdAt ?? Date.now();
  const grant: GrantRecord = {
    id: newId('grt'),
    userId,
    clientId,
    scope: 'mcp:read mcp:write',
    resource: `${runtime.config.publicUrl}/mcp`,
    createdAt: at,
    expiresAt: at + 90 * 24 * 3600_000,
    lastUsedAt: null,
    revokedAt: null,
    revokedReason: null,
    ...overrides,
  };
  await runtime.store.grants.create(grant);
  return grant;
}
