import { auditLog, type AuditLog } from './audit/audit-log.js';
import { batchedAuditStores, type BatchedAuditStores } from './audit/batched-audit-stores.js';
import { credentialCache, type CredentialCache } from './identity/credential-cache.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { deriveKeyRing, loadMasterKey, verifyKeyMatchesDatabase, type KeyRing } from './crypto/key-ring.js';
import { workerSigner } from './crypto/es256-signer.js';
import { signingKeyRing, type SigningKeyRing } from './crypto/signing-keys.js';
import { apiKeyService, type ApiKeyService } from './identity/api-keys.js';
import { passwordLogin, type PasswordLogin } from './identity/login.js';
import { userService, type UserService } from './identity/users.js';
import { accessTokenService, retiredKeyLifetimeMs, type AccessTokenService } from './oauth/access-tokens.js';
import { clientDirectory, type ClientDirectory } from './oauth/clients.js';
import { grantService, type GrantService } from './oauth/grants.js';
import { metadataDocumentResolver } from './oauth/client-id-metadata-document.js';
import { registrationLimits } from './oauth/registration-limits.js';
import { ssoServices, type SsoServices } from './sso/sso-services.js';
import { openStore, type OpenedStore } from './store/index.js';
import { createOutboundOAuth, SHARED_SUBJECT, type OutboundOAuth } from './upstream/oauth/outbound-oauth.js';
import { createPerUserPool, type PerUserPool } from './upstream/per-user-pool.js';
import { announcingRegistry, FLEET_RECONCILE_MS } from './upstream/fleet-changes.js';
import { createUpstreamRegistry, type ManagedUpstreamRegistry } from './upstream/registry.js';
import { toolPins, type ToolPins } from './upstream/tool-pins.js';
import { VERSION } from './version.js';
import { upstreamService, type UpstreamService } from './upstream/upstream-service.js';

/** Credentials held per process at most: far more than the keys and grants in use at once. */
const CREDENTIAL_CACHE_ENTRIES = 10_000;

/** What every surface of the app is handed: config, store, keys and the services built on them. */
export interface Runtime {
  config: Config;
  /** The time the services check expiry against: the system clock unless the opener handed in another. */
  clock: Clock;
  store: OpenedStore;
  keys: KeyRing;
  users: UserService;
  login: PasswordLogin;
  apiKeys: ApiKeyService;
  audit: AuditLog;
  /** The audit tables' writes, batched off the request path; `close()` writes what is queued. */
  auditWrites: BatchedAuditStores;
  /** Verified API keys and grants, emptied fleet-wide on every revocation (identity/credential-cache.ts). */
  credentials: CredentialCache;
  clients: ClientDirectory;
  grants: GrantService;
  signingKeys: SigningKeyRing;
  accessTokens: AccessTokenService;
  /** Upstream MCP servers, built here but connected only when the server starts (`upstreams.start()`). */
  upstreams: ManagedUpstreamRegistry;
  /** Create/update/delete of upstreams for /api/mcp/client*, applied to `upstreams` at once. */
  upstreamService: UpstreamService;
  /** Gatehouse as the OAuth client of upstreams: flows, callback, token vault. */
  outbound: OutboundOAuth;
  /** Per-user upstream connections, each with its user's own token. */
  perUserPool: PerUserPool;
  /** The pinned definitions of upstream tools, shared by the gateway (which enforces them) and the API (which approves). */
  toolPins: ToolPins;
  /** Company identity: the relying party of each IdP, ID-JAG verification, IdP tokens and token exchange. */
  sso: SsoServices;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Tests pass a clock they move, so expiry is tested without rewriting rows or sleeping. */
  clock?: Clock;
}

/** Opens the store, checks the master key against it and builds the services. No HTTP here. */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const master = loadMasterKey({ secretKey: config.secretKey, dataDir: config.dataDir, create: true });
  const keys = deriveKeyRing(master.key);
  const opened = await openStore(config);
  try {
    await verifyKeyMatchesDatabase(keys, opened.meta, master.source);
  } catch (error) {
    await opened.database.close();
    throw error;
  }
  const auditWrites = batchedAuditStores(opened, config.audit);
  const store: OpenedStore = { ...opened, audit: auditWrites.audit, toolCalls: auditWrites.toolCalls };
  const credentials = credentialCache({
    notifications: store.notifications,
    localChanges: store.credentialChanges,
    ttlMs: config.credentialCache.ttlSeconds * 1000,
    fallbackTtlMs: config.credentialCache.unheardTtlSeconds * 1000,
    maxEntries: CREDENTIAL_CACHE_ENTRIES,
  });
  const audit = auditLog(store.audit, clock);
  const sso = ssoServices(config, { store, encryptionKey: keys.encryptionKey, audit, clock });
  const outbound = createOutboundOAuth({ store, encryptionKey: keys.encryptionKey, stateHasher: keys.tokenHasher, config, audit, now: clock });
  const upstreams = createUpstreamRegistry({
    store: store.upstreams,
    encryptionKey: keys.encryptionKey,
    configUpstreams: config.upstreams,
    demo: config.demo,
    syncIntervalMs: FLEET_RECONCILE_MS,
    bearerFor: (id, settings) => {
      if (settings.auth_type === 'oauth') return outbound.bearer(id, SHARED_SUBJECT);
      if (settings.auth_type === 'per_user_oauth') return outbound.listingBearer(id);
      return settings.auth_type === 'token_exchange' ? sso.tokenExchange.listingBearer(id, settings) : undefined;
    },
  });
  const perUserPool = createPerUserPool({
    bearer: (upstream, userId) =>
      upstream.settings.auth_type === 'token_exchange' ? sso.tokenExchange.bearer(upstream, userId) : outbound.bearer(upstream.id, userId),
    maxSize: config.outboundOAuth.perUserPoolSize,
    idleMs: config.outboundOAuth.perUserIdleSeconds * 1000,
    clientVersion: VERSION,
  });
  followOutboundEvents(outbound, upstreams, perUserPool);
  followSignIns(sso, upstreams);
  const signingKeys = signingKeyRing({ store: store.signingKeys, encryptionKey: keys.encryptionKey, retiredKeyLifetimeMs: retiredKeyLifetimeMs(config) }, clock);
  // Access tokens are signed on a worker thread, a turn's signatures in one message (crypto/es256-signer.ts).
  const signer = workerSigner();
  return {
    config,
    clock,
    store,
    keys,
    audit,
    auditWrites,
    credentials,
    clients: clientDirectory(
      store.clients,
      metadataDocumentResolver({
        clients: store.clients,
        limits: registrationLimits({ rateWindows: store.rateWindows, initialAccessTokens: store.initialAccessTokens, hasher: keys.tokenHasher, oauth: config.oauth }),
        config,
        now: clock,
      }),
      credentials,
    ),
    grants: grantService({ store, keys, config, audit }, clock),
    signingKeys,
    accessTokens: accessTokenService({ config, signingKeys, signer }, clock),
    users: userService(store, clock),
    login: passwordLogin(store.users, store.loginFailures, config.loginThrottle, { now: clock }),
    apiKeys: apiKeyService(store, keys.tokenHasher, clock, credentials),
    upstreams,
    upstreamService: upstreamService({
      store: store.upstreams,
      encryptionKey: keys.encryptionKey,
      registry: announcingRegistry(upstreams, store.notifications),
      outbound,
      audit,
      now: clock,
    }),
    outbound,
    perUserPool,
    toolPins: toolPins({ store: store.toolPins, audit, now: clock }),
    sso,
    close: async () => {
      await auditWrites.close();
      await signer.close();
      credentials.close();
      await perUserPool.close();
      await store.notifications.close();
      await store.database.close();
    },
  };
}

/**
 * A company sign-in gives token exchanges a new subject: the user's exchanged tokens are dropped, and the listing
 * connections of `token_exchange` upstreams of that provider that wait in `needs_auth` try again at once (other
 * replicas' follow within the registry's re-read).
 */
function followSignIns(sso: SsoServices, upstreams: ManagedUpstreamRegistry): void {
  sso.identityTokens.onSignIn((userId, providerId) => {
    sso.tokenExchange.forget(userId);
    for (const upstream of upstreams.all()) {
      const waiting = upstreams.statusOf(upstream.id)?.state === 'needs_auth';
      if (waiting && upstream.settings.auth_type === 'token_exchange' && upstream.settings.token_exchange?.provider === providerId) void upstreams.reconnect(upstream.id);
    }
  });
}

/**
 * A new authorization or a lost one changes which connections can work: the shared (or listing) connection
 * reconnects with the new tokens or settles in `needs_auth`, and a user's pooled connection is dropped.
 */
function followOutboundEvents(outbound: OutboundOAuth, upstreams: ManagedUpstreamRegistry, pool: PerUserPool): void {
  outbound.subscribe((event) => {
    if (event.subject !== SHARED_SUBJECT) void pool.drop(event.upstreamId, event.subject);
    const state = upstreams.statusOf(event.upstreamId)?.state;
    // A per-user upstream's listing connection only needs a new attempt while it has no working tokens; when the
    // user it lists with loses theirs, its token source moves on to another user's by itself.
    if (event.subject === SHARED_SUBJECT || state === 'needs_auth') void upstreams.reconnect(event.upstreamId);
  });
  // A removed upstream's per-user connections close with it.
  upstreams.subscribe((event) => {
    if (event.kind === 'upstreams_changed') void pool.retain(new Set(upstreams.all().map((upstream) => upstream.id)));
  });
}
