import { auditLog, type AuditLog } from './audit/audit-log.js';
import type { Config } from './config.js';
import { deriveKeyRing, loadMasterKey, verifyKeyMatchesDatabase, type KeyRing } from './crypto/key-ring.js';
import { signingKeyRing, type SigningKeyRing } from './crypto/signing-keys.js';
import { apiKeyService, type ApiKeyService } from './identity/api-keys.js';
import { passwordLogin, type PasswordLogin } from './identity/login.js';
import { userService, type UserService } from './identity/users.js';
import { accessTokenService, retiredKeyLifetimeMs, type AccessTokenService } from './oauth/access-tokens.js';
import { clientDirectory, type ClientDirectory } from './oauth/clients.js';
import { grantService, type GrantService } from './oauth/grants.js';
import { metadataDocumentResolver } from './oauth/metadata-document.js';
import { openStore, type OpenedStore } from './store/index.js';
import { createUpstreamRegistry } from './upstream/registry.js';
import type { UpstreamRegistry } from './upstream/types.js';
import { upstreamService, type UpstreamService } from './upstream/upstream-service.js';

/** What every surface of the app is handed: config, store, keys and the services built on them. */
export interface Runtime {
  config: Config;
  store: OpenedStore;
  keys: KeyRing;
  users: UserService;
  login: PasswordLogin;
  apiKeys: ApiKeyService;
  audit: AuditLog;
  clients: ClientDirectory;
  grants: GrantService;
  signingKeys: SigningKeyRing;
  accessTokens: AccessTokenService;
  /** Upstream MCP servers, built here but connected only when the server starts (`upstreams.start()`). */
  upstreams: UpstreamRegistry;
  /** Create/update/delete of upstreams for /api/mcp/client*, applied to `upstreams` at once. */
  upstreamService: UpstreamService;
  close(): Promise<void>;
}

/** Opens the store, checks the master key against it and builds the services. No HTTP here. */
export async function openRuntime(config: Config): Promise<Runtime> {
  const master = loadMasterKey({ secretKey: config.secretKey, dataDir: config.dataDir, create: true });
  const keys = deriveKeyRing(master.key);
  const store = await openStore(config);
  try {
    await verifyKeyMatchesDatabase(keys, store.meta, master.source);
  } catch (error) {
    await store.database.close();
    throw error;
  }
  const audit = auditLog(store.audit);
  const upstreams = createUpstreamRegistry({ store: store.upstreams, encryptionKey: keys.encryptionKey, configUpstreams: config.upstreams, demo: config.demo });
  const signingKeys = signingKeyRing({ store: store.signingKeys, encryptionKey: keys.encryptionKey, retiredKeyLifetimeMs: retiredKeyLifetimeMs(config) });
  return {
    config,
    store,
    keys,
    audit,
    clients: clientDirectory(store.clients, metadataDocumentResolver({ clients: store.clients, config })),
    grants: grantService({ store, keys, config, audit }),
    signingKeys,
    accessTokens: accessTokenService({ config, signingKeys }),
    users: userService(store),
    login: passwordLogin(store.users, store.loginFailures, config.loginThrottle),
    apiKeys: apiKeyService(store, keys.tokenHasher),
    upstreams,
    upstreamService: upstreamService({ store: store.upstreams, encryptionKey: keys.encryptionKey, registry: upstreams }),
    close: () => store.database.close(),
  };
}
