import { secretsEqual, type KeyedHasher } from '../crypto/keyed-hash.js';
import type { ClientAuthMethod, ClientKind, OAuthClientRecord, OAuthClientStore } from '../store/index.js';
import { OAuthError } from './errors.js';
import { decodeBasic, parseAuthorization } from '../http/authorization-header.js';
import { uncached, type CredentialCache } from '../identity/credential-cache.js';

/** Client metadata as registered (RFC 7591 §2) or fetched (CIMD), already validated and filtered. */
export interface ClientMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method: ClientAuthMethod;
  grant_types: string[];
  response_types: string[];
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  tos_uri?: string;
  policy_uri?: string;
  contacts?: string[];
  software_id?: string;
  software_version?: string;
  application_type?: 'web' | 'native';
  scope?: string;
}

export interface RegisteredClient {
  clientId: string;
  kind: ClientKind;
  metadata: ClientMetadata;
  record: OAuthClientRecord;
}

export function registeredClient(record: OAuthClientRecord): RegisteredClient {
  return { clientId: record.clientId, kind: record.kind, metadata: JSON.parse(record.metadata) as ClientMetadata, record };
}

/** Who is asking for a client: a metadata document fetched on their behalf is charged to their address. */
export interface ClientCaller {
  ip: string;
}

/** Fetches, validates and caches the Client ID Metadata Document behind an https `client_id`. */
export type MetadataDocumentResolver = (clientId: string, caller: ClientCaller) => Promise<RegisteredClient>;

export interface ClientDirectory {
  /** The client, or undefined when unknown; a URL client_id is resolved through its metadata document. */
  find(clientId: string, caller: ClientCaller): Promise<RegisteredClient | undefined>;
}

export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/**
 * A registered client's row is read through the credential cache (identity/credential-cache.ts): every write that
 * changes how it authenticates (its metadata, its secret, its deletion) empties the cache fleet-wide.
 */
export function clientDirectory(
  store: OAuthClientStore,
  resolveDocument?: MetadataDocumentResolver,
  cache: Pick<CredentialCache, 'get'> = uncached,
): ClientDirectory {
  return {
    async find(clientId, caller) {
      if (isMetadataDocumentClientId(clientId)) {
        if (!resolveDocument) return undefined;
        return resolveDocument(clientId, caller);
      }
      // Cached parsed: the metadata's JSON is read once per load, not on every token request.
      return cache.get(`client:${clientId}`, async () => {
        const record = await store.find(clientId);
        return record && record.kind !== 'metadata_document' ? registeredClient(record) : undefined;
      });
    },
  };
}

interface PresentedCredentials {
  authorization?: string;
  clientId?: string;
  clientSecret?: string;
  /** The caller's address, charged for a metadata document fetched to authenticate it. */
  ip: string;
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded first; clients that skip it (the MCP SDK) still work. */
function decodeBasicPart(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    return value;
  }
}

function parseBasic(credentials: string): { clientId: string; clientSecret: string; rawSecret: string } | undefined {
  const basic = decodeBasic(credentials);
  if (!basic) return undefined;
  return { clientId: decodeBasicPart(basic.user), clientSecret: decodeBasicPart(basic.password), rawSecret: basic.password };
}

const basicChallenge = { 'www-authenticate': 'Basic realm="gatehouse"' };

/**
 * Authenticates the client at the token, revocation and introspection endpoints (RFC 6749 §2.3):
 * a public client names itself; a confidential one proves its secret by Basic or in the body, compared
 * as keyed hashes in constant time. Two methods at once are refused (§2.3).
 */
export async function authenticateClient(
  presented: PresentedCredentials,
  clients: ClientDirectory,
  hasher: KeyedHasher,
  now: number,
): Promise<RegisteredClient> {
  const authorization = parseAuthorization(presented.authorization);
  const basic = authorization?.scheme === 'basic' ? parseBasic(authorization.credentials) : undefined;
  if (authorization?.scheme === 'basic' && !basic) {
    throw new OAuthError('invalid_client', 'malformed Basic credentials', 401, basicChallenge);
  }
  if (basic && presented.clientSecret !== undefined) {
    throw new OAuthError('invalid_request', 'use one client authentication method, not two');
  }
  if (basic && presented.clientId !== undefined && presented.clientId !== basic.clientId) {
    throw new OAuthError('invalid_request', 'client_id in the body differs from the authenticated client');
  }
  const clientId = basic?.clientId ?? presented.clientId;
  if (!clientId) throw new OAuthError('invalid_client', 'client authentication is required', 401, basicChallenge);
  const secret = basic?.clientSecret ?? presented.clientSecret;

  const client = await clients.find(clientId, { ip: presented.ip });
  const fail = () => new OAuthError('invalid_client', 'unknown client or wrong credentials', 401, basic ? basicChallenge : {});
  if (!client) throw fail();
  if (client.record.authMethod === 'none') {
    if (secret !== undefined && secret !== '') throw fail();
    return client;
  }
  if (secret === undefined || !client.record.secretHash) throw fail();
  // Stored hashes are compared as strings of equal, fixed length; candidates cover a rotated pepper.
  // A Basic secret is tried decoded and as sent: a raw '+' or '%xx' would otherwise decode into another secret.
  const presentedSecrets = basic ? [...new Set([secret, basic.rawSecret])] : [secret];
  const matches = presentedSecrets.some((s) => hasher.candidates(s).some((candidate) => secretsEqual(candidate, client.record.secretHash!)));
  if (!matches) throw fail();
  const expiresAt = client.record.secretExpiresAt;
  if (expiresAt && expiresAt <= now) throw new OAuthError('invalid_client', 'the client secret has expired', 401, basicChallenge);
  return client;
}
