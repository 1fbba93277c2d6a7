/** Records and store contracts of the authorization server. Times are epoch ms; secrets only as keyed hashes. */

export type ClientKind = 'dynamic' | 'metadata_document' | 'service_account';
export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface OAuthClientRecord {
  clientId: string;
  /**
   * `dynamic`: RFC 7591 registration; `metadata_document`: a fetched Client ID Metadata Document (cache row);
   * `service_account`: the credentials of a service account (client_credentials only).
   */
  kind: ClientKind;
  authMethod: ClientAuthMethod;
  secretHash: string | null;
  /** Epoch ms; 0 when the secret never expires (RFC 7591 `client_secret_expires_at` is this in seconds). */
  secretExpiresAt: number | null;
  registrationTokenHash: string | null;
  /** The registered (or fetched) client metadata, as JSON text. */
  metadata: string;
  /** For metadata documents: when the cached copy must be fetched again. */
  metadataExpiresAt: number | null;
  createdIp: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface OAuthClientStore {
  create(client: OAuthClientRecord): Promise<void>;
  find(clientId: string): Promise<OAuthClientRecord | undefined>;
  /** Inserts or replaces a metadata-document client (the cache of a fetched CIMD). */
  upsert(client: OAuthClientRecord): Promise<void>;
  update(clientId: string, patch: Pick<OAuthClientRecord, 'metadata' | 'authMethod' | 'updatedAt'>): Promise<boolean>;
  delete(clientId: string): Promise<boolean>;
  list(): Promise<OAuthClientRecord[]>;
}

export interface RateWindowStore {
  /** Counts one hit in `bucket` for the fixed window starting at `windowStart`; returns the hits in that window. */
  hit(bucket: string, windowStart: number): Promise<number>;
}

export interface InitialAccessTokenRecord {
  id: string;
  tokenHash: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  revokedAt: number | null;
}

export interface InitialAccessTokenStore {
  create(token: InitialAccessTokenRecord): Promise<void>;
  /** Marks an unused, unrevoked, unexpired token used; true only for the one caller that did so. */
  consume(tokenHash: string, now: number): Promise<boolean>;
  list(): Promise<InitialAccessTokenRecord[]>;
  revoke(id: string, now: number): Promise<boolean>;
}

export interface AuthorizationFlowRecord {
  id: string;
  /** Hash of the secret in the browser's flow cookie: binds the flow to that browser. */
  browserHash: string;
  csrfHash: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  resource: string;
  state: string | null;
  codeChallenge: string;
  prompt: string | null;
  createdAt: number;
  expiresAt: number;
  completedAt: number | null;
}

export interface AuthorizationFlowStore {
  create(flow: AuthorizationFlowRecord): Promise<void>;
  find(id: string): Promise<AuthorizationFlowRecord | undefined>;
  /** Compare-and-set: true only for the first completion of a live flow. */
  complete(id: string, now: number): Promise<boolean>;
}

export interface GrantRecord {
  id: string;
  userId: string;
  clientId: string;
  scope: string;
  resource: string;
  createdAt: number;
  /** Absolute end of the refresh chain. */
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
}

export interface GrantStore {
  create(grant: GrantRecord): Promise<void>;
  find(id: string): Promise<GrantRecord | undefined>;
  list(filter?: { userId?: string; clientId?: string; includeRevoked?: boolean }): Promise<GrantRecord[]>;
  revoke(id: string, reason: string, now: number): Promise<boolean>;
  revokeForClient(clientId: string, reason: string, now: number): Promise<number>;
  /** Records use; writes at most once a minute per grant. */
  touch(id: string, now: number): Promise<void>;
}

export interface AuthorizationCodeRecord {
  codeHash: string;
  grantId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  resource: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface AuthorizationCodeStore {
  create(code: AuthorizationCodeRecord): Promise<void>;
  /** Marks the code used (compare-and-set) and returns it with whether this call was its first use. */
  consume(codeHash: string, now: number): Promise<{ code: AuthorizationCodeRecord; firstUse: boolean } | undefined>;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  scope: string;
  createdAt: number;
  expiresAt: number;
  rotatedAt: number | null;
  /** What rebuilds the successor's token response for a retry inside the grace window (oauth/refresh-replay.ts). */
  replayResponse: string | null;
}

/** What one refresh writes: the presented token retired, its successor stored, the grant's use recorded. */
export interface RefreshRotation {
  tokenHash: string;
  now: number;
  /** What rebuilds the successor's response, for the grace replay (oauth/refresh-replay.ts). */
  replayResponse: string | null;
  successor: RefreshTokenRecord | null;
  /**
   * The grant as read with the token: its last use says whether recording this one is due (usually not); the store
   * keeps it with the successor for the successor's rotation (`findToRotate`).
   */
  grant: GrantRecord;
}

/** `won`: this caller retired the token and its successor is live. `lost`: a concurrent caller did; nothing was written. */
export type RotationOutcome = 'won' | 'lost';

export interface RefreshTokenStore {
  create(token: RefreshTokenRecord): Promise<void>;
  find(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** The token and its grant in one read (the token endpoint needs both on every refresh). */
  findWithGrant(tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: GrantRecord } | undefined>;
  /**
   * The same, for a refresh that will `rotate` the token: a successor this store stored (with its grant as the
   * rotation left it) is handed out once without a read, so it may be stale (rotated or its grant revoked since, by
   * another replica, another process on the same SQLite file, or an admin). `rotate` checks both, so a stale record
   * can only lose; read again after `lost`.
   */
  findToRotate(tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: GrantRecord } | undefined>;
  /**
   * One transaction: a compare-and-set retires the presented token (only if it is still unrotated and its grant
   * not revoked), then the successor is stored and the grant touched. Exactly one of concurrent callers with the
   * same token wins. The transaction may be shared with concurrent rotations of other tokens (one commit for all),
   * never their outcome.
   */
  rotate(rotation: RefreshRotation): Promise<RotationOutcome>;
}

export interface ConsentRecord {
  userId: string;
  clientId: string;
  resource: string;
  scope: string;
  grantedAt: number;
}

export interface ConsentStore {
  find(userId: string, clientId: string, resource: string): Promise<ConsentRecord | undefined>;
  save(consent: ConsentRecord): Promise<void>;
  deleteForClient(clientId: string): Promise<number>;
  /** Forgets what one user allowed one client (after they revoke its access), so the client must ask again. */
  deleteForUserAndClient(userId: string, clientId: string): Promise<number>;
}

export type SigningKeyState = 'next' | 'current' | 'retired';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: string;
  sealedPrivateJwk: string;
  state: SigningKeyState;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
}

export interface SigningKeyStore {
  list(): Promise<SigningKeyRecord[]>;
  create(key: SigningKeyRecord): Promise<void>;
  setState(kid: string, state: SigningKeyState, at: number): Promise<void>;
  delete(kid: string): Promise<void>;
}

export interface AuditEventRecord {
  id: string;
  at: number;
  kind: string;
  userId: string | null;
  clientId: string | null;
  grantId: string | null;
  ip: string | null;
  /** JSON text; never a token, secret or password. */
  detail: string;
}

export interface AuditStore {
  append(event: AuditEventRecord): Promise<void>;
  /** Several events, written all or none (in a few statements of fixed sizes: store/sql/rows.ts). */
  appendMany(events: readonly AuditEventRecord[]): Promise<void>;
  list(filter: { kind?: string; userId?: string; clientId?: string; before?: number; limit: number }): Promise<AuditEventRecord[]>;
}

export interface OAuthStore {
  clients: OAuthClientStore;
  rateWindows: RateWindowStore;
  initialAccessTokens: InitialAccessTokenStore;
  flows: AuthorizationFlowStore;
  grants: GrantStore;
  codes: AuthorizationCodeStore;
  refreshTokens: RefreshTokenStore;
  consents: ConsentStore;
  signingKeys: SigningKeyStore;
  audit: AuditStore;
}
