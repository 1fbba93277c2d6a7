import { issueToken, newId } from '../crypto/random.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { unusablePasswordHash } from '../identity/password.js';
import { normaliseUsername, USERNAME_PATTERN } from '../identity/users.js';
import type { OpenedStore, ServiceAccountRecord } from '../store/index.js';
import { DEFAULT_SCOPES, formatScope, SUPPORTED_SCOPES } from './scopes.js';

/**
 * Service accounts: machine identities that get tokens for /mcp with `client_credentials`. Each is a user row (its
 * name and groups are what policies, `allowed_users`/`allowed_groups` and the audit see; it has no password) and a
 * confidential OAuth client row (its client_id and keyed-hash secret), joined by the service_accounts row. Deleting
 * one deletes both; the user's grants go with it, so its tokens stop working at once.
 */

export const SERVICE_ACCOUNT_SOURCE = 'service_account';

export class ServiceAccountInputError extends Error {
  constructor(
    message: string,
    readonly field: 'name' | 'scopes',
    readonly conflict = false,
  ) {
    super(message);
    this.name = 'ServiceAccountInputError';
  }
}

/** A service account as the API shows it: never the secret (except `client_secret` once, at creation and rotation). */
export interface ServiceAccountView {
  id: string;
  name: string;
  client_id: string;
  groups: string[];
  scopes: string[];
  created_at: string;
}

export interface ServiceAccountService {
  create(input: { name: string; groups?: string[]; scopes?: string[] }): Promise<{ view: ServiceAccountView; secret: string }>;
  list(): Promise<ServiceAccountView[]>;
  /** A new secret; the old one stops working at once. Undefined for an unknown id. */
  rotateSecret(id: string): Promise<{ view: ServiceAccountView; secret: string } | undefined>;
  delete(id: string): Promise<boolean>;
}

export function serviceAccountService(
  { store, keys }: { store: Pick<OpenedStore, 'serviceAccounts' | 'users'>; keys: Pick<KeyRing, 'tokenHasher'> },
  now: () => number = Date.now,
): ServiceAccountService {
  async function viewOf(account: ServiceAccountRecord): Promise<ServiceAccountView> {
    const user = await store.users.findById(account.userId);
    return {
      id: account.id,
      name: account.name,
      client_id: account.clientId,
      groups: user?.groups ?? [],
      scopes: account.scopes,
      created_at: new Date(account.createdAt).toISOString(),
    };
  }

  function checkedScopes(scopes: string[] | undefined): string[] {
    const unknown = scopes?.filter((scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope)) ?? [];
    if (unknown.length > 0) throw new ServiceAccountInputError(`unknown scopes: ${unknown.join(', ')} (known: ${SUPPORTED_SCOPES.join(', ')})`, 'scopes');
    return scopes && scopes.length > 0 ? [...new Set(scopes)] : [...DEFAULT_SCOPES];
  }

  return {
    async create({ name: given, groups = [], scopes: askedScopes }) {
      const name = normaliseUsername(given);
      if (!USERNAME_PATTERN.test(name)) throw new ServiceAccountInputError('name must be 1-64 characters: letters, digits, and . _ @ - (not first)', 'name');
      const scopes = checkedScopes(askedScopes);
      const taken = () => new ServiceAccountInputError(`the name ${JSON.stringify(name)} is taken by a user or service account`, 'name', true);
      if (await store.users.findByUsername(name)) throw taken();
      const at = now();
      const secret = issueToken('clientSecret');
      const account: ServiceAccountRecord = { id: newId('sa'), name, userId: newId('usr'), clientId: newId('sac'), scopes, createdAt: at };
      try {
        await store.serviceAccounts.create({
          account,
          user: { id: account.userId, username: name, passwordHash: await unusablePasswordHash(), isAdmin: false, disabledAt: null, createdAt: at, updatedAt: at, source: SERVICE_ACCOUNT_SOURCE, groups: [...new Set(groups)] },
          client: {
            clientId: account.clientId,
            kind: 'service_account',
            authMethod: 'client_secret_basic',
            secretHash: keys.tokenHasher.hash(secret),
            secretExpiresAt: 0,
            registrationTokenHash: null,
            metadata: JSON.stringify({ client_name: name, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: formatScope(scopes) }),
            metadataExpiresAt: null,
            createdIp: null,
            createdAt: at,
            updatedAt: at,
          },
        });
      } catch (error) {
        // A concurrent create of the same name: the unique index decided.
        if (await store.users.findByUsername(name)) throw taken();
        throw error;
      }
      return { view: await viewOf(account), secret };
    },
    async list() {
      return Promise.all((await store.serviceAccounts.list()).map(viewOf));
    },
    async rotateSecret(id) {
      const account = await store.serviceAccounts.findById(id);
      if (!account) return undefined;
      const secret = issueToken('clientSecret');
      await store.serviceAccounts.setSecretHash(account.clientId, keys.tokenHasher.hash(secret), now());
      return { view: await viewOf(account), secret };
    },
    async delete(id) {
      const account = await store.serviceAccounts.findById(id);
      return account ? store.serviceAccounts.delete(account) : false;
    },
  };
}
