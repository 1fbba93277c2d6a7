import type { Database } from './db.js';
import { openPostgres } from './postgres.js';
import type { SqliteSync } from './sqlite.js';
import { openSqliteThread } from './sqlite-thread.js';
import { sqlStoresOn } from './sql-stores.js';
import type { LeaseStore, RetentionStore } from './retention-types.js';
import type { GatewayStore } from './gateway-types.js';
import type { OAuthStore } from './oauth-types.js';
import type { OutboundStore } from './outbound-types.js';
import { inProcessNotifications, postgresNotifications, type Notifications } from './notifications.js';
import type { ServiceAccountStore, Store } from './types.js';
import { announcingCredentialChanges, type LocalCredentialChanges } from './credential-changes.js';
import type { LocalChanges } from './local-changes.js';
import { announcingVirtualServerChanges, type VirtualServerChange } from './virtual-server-changes.js';

export type { Database } from './db.js';
export { isUniqueViolation } from './db.js';
export type * from './types.js';
export type * from './oauth-types.js';
export type * from './gateway-types.js';
export type * from './outbound-types.js';
export type * from './retention-types.js';
export type { Notifications, NotificationHandler } from './notifications.js';
export { CREDENTIALS_CHANNEL } from './credential-changes.js';
export { VIRTUAL_SERVERS_CHANNEL } from './virtual-server-changes.js';
export type { VirtualServerChange } from './virtual-server-changes.js';
export type { LocalChanges } from './local-changes.js';
export { FLEET_MESSAGE_TTL_MS } from './notifications.js';
export type { CredentialChange, LocalCredentialChanges } from './credential-changes.js';

export interface OpenedStore extends Store, OAuthStore, GatewayStore, OutboundStore {
  database: Database;
  /** Change messages between the processes sharing this database (LISTEN/NOTIFY on PostgreSQL). */
  notifications: Notifications;
  retention: RetentionStore;
  leases: LeaseStore;
  serviceAccounts: ServiceAccountStore;
  /** Credential-changing writes of this process, heard at once (every process hears them on CREDENTIALS_CHANNEL). */
  credentialChanges: LocalCredentialChanges;
  /** Virtual server writes of this process, heard at once (every process hears them on VIRTUAL_SERVERS_CHANNEL). */
  virtualServerChanges: LocalChanges<VirtualServerChange>;
}

/** The stores for one database; SQLite and PostgreSQL share the SQL, only the driver differs. */
export function storeOn(database: Database, notifications: Notifications = inProcessNotifications()): OpenedStore {
  return announcing({ database, notifications, ...sqlStoresOn(database) });
}

/** The wrappers that stay on the main thread, around the stores: this process's change hubs and the notifications. */
function announcing(stores: Omit<OpenedStore, 'credentialChanges' | 'virtualServerChanges'>): OpenedStore {
  return announcingVirtualServerChanges(announcingCredentialChanges(stores, stores.notifications), stores.notifications);
}

/**
 * Opens the configured backend and brings its schema up to date. SQLite is served by a worker thread that owns the
 * connection (`sqlite-thread.ts`); PostgreSQL by a pool on this thread.
 */
export async function openStore(options: { dataDir: string; databaseUrl?: string; databasePoolSize?: number; sqliteSync?: SqliteSync }): Promise<OpenedStore> {
  if (!options.databaseUrl) {
    const { database, stores } = await openSqliteThread(options.dataDir, { sync: options.sqliteSync });
    return announcing({ database, notifications: inProcessNotifications(), ...stores });
  }
  const database = openPostgres(options.databaseUrl, { max: options.databasePoolSize });
  try {
    await database.migrate();
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
  return storeOn(database, postgresNotifications(database, options.databaseUrl));
}
