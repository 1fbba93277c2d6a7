import type { Db } from './db.js';
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
import { sqlSigningKeyStore } from './sql/signing-keys.js';
import { sqlMcpSessionStore } from './sql/mcp-sessions.js';
import { sqlToolCallStore } from './sql/tool-calls.js';
import { sqlToolPinStore } from './sql/tool-pins.js';
import { sqlCallApprovalStore } from './sql/call-approvals.js';
import { sqlVirtualServerStore } from './sql/virtual-servers.js';
import { sqlUpstreamStore } from './sql/upstreams.js';
import { sqlUpstreamOAuthClientStore } from './sql/upstream-oauth-clients.js';
import { sqlUpstreamOAuthConfigStore } from './sql/upstream-oauth-configs.js';
import { sqlUpstreamOAuthFlowStore } from './sql/upstream-oauth-flows.js';
import { sqlUpstreamTokenStore } from './sql/upstream-tokens.js';

/** Every capability store over one Db: the same SQL on SQLite and PostgreSQL, only the driver differs. */
export function sqlStoresOn(database: Db) {
  return {
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

export type SqlStores = ReturnType<typeof sqlStoresOn>;
