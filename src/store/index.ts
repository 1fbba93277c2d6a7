import type { Database } from './db.js';
import { openPostgres } from './postgres.js';
import { openSqlite, type SqliteSync } from './sqlite.js';
import { sqlApiKeyStore } from './sql/api-keys.js';
import { sqlLoginFailureStore } from './sql/login-failures.js';
import { sqlMetaStore } from './sql/meta.js';
import { sqlBrowserSessionStore } from './sql/sessions.js';
import { sqlUserStore } from './sql/users.js';
import { sqlSsoSignInStore } from './sql/sso-sign-ins.js';
import { sqlIdJagReplayStore, sqlSsoIdentityTokenStore } from './sql/enterprise-identity.js';
import { sqlServiceAccountStore } from './sql/service-accounts.js';
import { sqlAuditStore } from './sql/audit.js';
import { sqlAuthorizationCodeStore } from './sql/authorization-codes.js';
import { sqlAuthorizationFlowStore } from './sql/authorization-flows.js';
import { sqlConsentStore } from './sql/consents.js';
import { sqlGrantStore } from './sql/grants.js';
import { sqlInitialAccessTokenStore } from './sql/initial-access-tokens.js';
import { sqlOAuthClientStore } from './sql/oauth-clients.js';
import { sqlRateWindowStore } from './sql/rate-windows.js';
import { sqlRefreshTokenStore } from './sql/refresh-tokens.js';
import { sqlLeaseStore, sqlRetentionStore } from './sql/retention.js';
import type { LeaseStore, RetentionStore } from './retention-types.js';
import { sqlSigningKeyStore } from './sql/signing-keys.js';
import type { GatewayStore } from './gateway-types.js';
import type { OAuthStore } from './oauth-types.js';
import type { OutboundStore } from './outbound-types.js';
import { sqlMcpSessionStore } from './sql/mcp-sessions.js';
import { inProcessNotifications, postgresNotifications, type Notifications } from './notifications.js';
import { sqlToolCallStore } from './sql/tool-calls.js';
import { sqlToolPinStore } from './sql/tool-pins.js';
import { sqlCallApprovalStore } from './sql/call-approvals.js';
import { sqlVirtualServerStore } from './sql/virtual-servers.js';
import { sqlUpstreamStore } from './sql/upstreams.js';
import { sqlUpstreamOAuthClientStore } from './sql/upstream-oauth-clients.js';
import { sqlUpstreamOAuthConfigStore } from './sql/upstream-oauth-configs.js';
import { sqlUpstreamOAuthFlowStore } from './sql/upstream-oauth-flows.js';
import { sqlUpstreamTokenStore } from './sql/upstream-tokens.js';
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
  return announcingVirtualServerChanges(announcingCredentialChanges(sqlStoresOn(database, notifications), notifications), notifications);
}

function sqlStoresOn(database: Database, notifications: Notifications): Omit<OpenedStore, 'credentialChanges' | 'virtualServerChanges'> {
  return {
    database,
    notifications,
    meta: sqlMetaStore(database),
    users: sqlUserStore(database),
    sessions: sqlBrowserSessionStore(database),
    apiKeys: sqlApiKeyStore(database),
    loginFailures: sqlLoginFailureStore(database),
    ssoSignIns: sqlSsoSignInStore(database),
    ssoIdentityTokens: sqlSsoIdentityTokenStore(database),
    idJagAssertions: sqlIdJagReplayStore(database),
    serviceAccounts: sqlServiceAccountStore(database),
    clients: sqlOAuthClientStore(database),
    rateWindows: sqlRateWindowStore(database),
    initialAccessTokens: sqlInitialAccessTokenStore(database),
    flows: sqlAuthorizationFlowStore(database),
    grants: sqlGrantStore(database),
    codes: sqlAuthorizationCodeStore(database),
    refreshTokens: sqlRefreshTokenStore(database),
    consents: sqlConsentStore(database),
    signingKeys: sqlSigningKeyStore(database),
    audit: sqlAuditStore(database),
    upstreams: sqlUpstreamStore(database),
    toolCalls: sqlToolCallStore(database),
    mcpSessions: sqlMcpSessionStore(database),
    toolPins: sqlToolPinStore(database),
    callApprovals: sqlCallApprovalStore(database),
    virtualServers: sqlVirtualServerStore(database),
    upstreamOAuthConfigs: sqlUpstreamOAuthConfigStore(database),
    upstreamOAuthClients: sqlUpstreamOAuthClientStore(database),
    upstreamOAuthFlows: sqlUpstreamOAuthFlowStore(database),
    upstreamTokens: sqlUpstreamTokenStore(database),
    retention: sqlRetentionStore(database),
    leases: sqlLeaseStore(database),
  };
}

/** Opens the configured backend and brings its schema up to date. */
export async function openStore(options: { dataDir: string; databaseUrl?: string; databasePoolSize?: number; sqliteSync?: SqliteSync }): Promise<OpenedStore> {
  const database = options.databaseUrl ? openPostgres(options.databaseUrl, { max: options.databasePoolSize }) : openSqlite(options.dataDir, { sync: options.sqliteSync });
  try {
    await database.migrate();
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
  return storeOn(database, options.databaseUrl ? postgresNotifications(database, options.databaseUrl) : inProcessNotifications());
}
