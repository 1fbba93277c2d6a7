import { localChangeHub, type LocalChanges } from './local-changes.js';
import type { Notifications } from './notifications.js';
import type { GrantStore, OAuthClientStore } from './oauth-types.js';
import type { ApiKeyStore, ServiceAccountStore, UserStore } from './types.js';

/**
 * The channel on which every change that can end or narrow a credential is announced: an API key revoked, a grant
 * revoked, a user disabled, regrouped, made or unmade admin, or deleted, a client updated or deleted, a service account's secret rotated or the
 * account deleted. Caches of verified credentials (in every process sharing the database) empty themselves when
 * they hear it. The payload only says what kind of row
 * changed, for logs: a cache drops everything, revocations being rare.
 */
export const CREDENTIALS_CHANNEL = 'credentials';

export interface CredentialChange {
  table: 'api_keys' | 'oauth_grants' | 'users' | 'oauth_clients' | 'service_accounts';
}

interface CredentialStores {
  apiKeys: ApiKeyStore;
  grants: GrantStore;
  users: UserStore;
  clients: OAuthClientStore;
  serviceAccounts: ServiceAccountStore;
}

/** This process's own credential changes, heard synchronously once the write committed (before any NOTIFY). */
export type LocalCredentialChanges = LocalChanges<CredentialChange>;

/**
 * The stores with each credential-changing write announced once it has committed: to this process's listeners at
 * once, then to every process through the notifications. A failed announcement does not fail the write (it is
 * done): the other processes' caches then expire it within their own bounded lifetime.
 */
export function announcingCredentialChanges<T extends CredentialStores>(
  stores: T,
  notifications: Notifications,
): T & { credentialChanges: LocalCredentialChanges } {
  const local = localChangeHub<CredentialChange>();
  const announce = (table: CredentialChange['table']) => {
    local.tell({ table });
    return notifications.publish(CREDENTIALS_CHANNEL, { table } satisfies CredentialChange).catch(() => undefined);
  };
  const announcing =
    <A extends unknown[], R>(table: CredentialChange['table'], write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await write(...args);
      await announce(table);
      return result;
    };
  const { apiKeys, grants, users, clients, serviceAccounts } = stores;
  return {
    ...stores,
    credentialChanges: { subscribe: local.subscribe },
    apiKeys: { ...apiKeys, revoke: announcing('api_keys', apiKeys.revoke) },
    grants: { ...grants, revoke: announcing('oauth_grants', grants.revoke), revokeForClient: announcing('oauth_grants', grants.revokeForClient) },
    users: {
      ...users,
      setDisabled: announcing('users', users.setDisabled),
      setAdmin: announcing('users', users.setAdmin),
      // Deleting a user takes their API keys, grants and tokens with it (foreign keys cascade).
      delete: announcing('users', users.delete),
      updateIdentityProviderFacts: announcing('users', users.updateIdentityProviderFacts),
    },
    clients: { ...clients, update: announcing('oauth_clients', clients.update), delete: announcing('oauth_clients', clients.delete) },
    serviceAccounts: {
      ...serviceAccounts,
      setSecretHash: announcing('service_accounts', serviceAccounts.setSecretHash),
      delete: announcing('service_accounts', serviceAccounts.delete),
    },
  };
}
