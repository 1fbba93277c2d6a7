import type { OAuthClientRecord } from './oauth-types.js';

/** Records as the store keeps them: times are epoch milliseconds, secrets only as keyed hashes. */
export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  isAdmin: boolean;
  disabledAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** `local`, or `sso:<provider id>` for a user provisioned by company sign-in. */
  source: string;
  /** The IdP identity an SSO user is keyed by (never the email); null for local users. */
  externalIssuer: string | null;
  externalSubject: string | null;
  /** The groups the IdP gave at the last sign-in; empty for local users. */
  groups: string[];
}

/** A user to create: local unless the identity fields are given. */
export type NewUserRecord = Omit<UserRecord, 'source' | 'externalIssuer' | 'externalSubject' | 'groups'> &
  Partial<Pick<UserRecord, 'source' | 'externalIssuer' | 'externalSubject' | 'groups'>>;

/** A sign-in at an identity provider in progress, bound to one browser by the keyed hash of its cookie. */
export interface SsoSignInRecord {
  browserHash: string;
  providerId: string;
  /** state, nonce, PKCE verifier and `next`, sealed. */
  sealed: string;
  createdAt: number;
  expiresAt: number;
}

export interface BrowserSessionRecord {
  tokenHash: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  absoluteExpiresAt: number;
  revokedAt: number | null;
  userAgent: string | null;
}

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  /** The first characters of the key, enough for a person to tell keys apart. */
  hint: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface LoginFailureRecord {
  subject: string;
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export interface MetaStore {
  get(key: string): Promise<string | undefined>;
  /** Stores the value unless the key exists; returns what is stored afterwards (first writer wins). */
  putIfAbsent(key: string, value: string): Promise<string>;
}

export interface UserStore {
  create(user: NewUserRecord): Promise<void>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findByExternalIdentity(issuer: string, subject: string): Promise<UserRecord | undefined>;
  /** What the IdP says at each sign-in: the groups and the admin flag derived from them. */
  updateIdentityProviderFacts(id: string, facts: { groups: string[]; isAdmin: boolean }, now: number): Promise<boolean>;
  list(): Promise<UserRecord[]>;
  count(): Promise<number>;
  updatePasswordHash(id: string, passwordHash: string, now: number): Promise<boolean>;
  setDisabled(id: string, disabledAt: number | null, now: number): Promise<boolean>;
  setAdmin(id: string, isAdmin: boolean, now: number): Promise<boolean>;
  /** Deletes the user; their sessions, API keys, grants and tokens go with them (foreign keys cascade). */
  delete(id: string): Promise<boolean>;
}

export interface BrowserSessionStore {
  create(session: BrowserSessionRecord): Promise<void>;
  findByTokenHash(tokenHash: string): Promise<BrowserSessionRecord | undefined>;
  touch(tokenHash: string, now: number): Promise<void>;
  revoke(tokenHash: string, now: number): Promise<void>;
  revokeAllForUser(userId: string, now: number): Promise<number>;
}

export interface ApiKeyStore {
  create(key: ApiKeyRecord): Promise<void>;
  findByTokenHash(tokenHash: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  list(filter?: { userId?: string }): Promise<ApiKeyRecord[]>;
  revoke(id: string, now: number): Promise<boolean>;
  touch(id: string, now: number): Promise<void>;
}

export interface LoginFailureStore {
  find(subject: string): Promise<LoginFailureRecord | undefined>;
  /**
   * Reads the records of `subjects` (a missing one as zero failures) and stores the records `decide` returns for
   * them (one with zero failures is deleted), in one transaction holding those subjects: concurrent updates of a
   * subject run one after another, so a check and the count it leads to cannot be split by a race.
   */
  update<T>(
    subjects: readonly string[],
    decide: (records: LoginFailureRecord[]) => { records: readonly LoginFailureRecord[]; result: T },
  ): Promise<T>;
}

/** A machine identity: its user (name, groups) and its OAuth client (client_credentials) joined. */
export interface ServiceAccountRecord {
  id: string;
  name: string;
  userId: string;
  clientId: string;
  /** The scopes its tokens may carry at most. */
  scopes: string[];
  createdAt: number;
}

export interface ServiceAccountStore {
  /** The account, its user and its OAuth client, all or nothing. */
  create(parts: { account: ServiceAccountRecord; user: NewUserRecord; client: OAuthClientRecord }): Promise<void>;
  findById(id: string): Promise<ServiceAccountRecord | undefined>;
  findByClientId(clientId: string): Promise<ServiceAccountRecord | undefined>;
  list(): Promise<ServiceAccountRecord[]>;
  setSecretHash(clientId: string, secretHash: string, now: number): Promise<boolean>;
  /** Deletes the client and the user; the user's grants (so every token) and the account go with it. */
  delete(account: ServiceAccountRecord): Promise<boolean>;
}

export interface SsoSignInStore {
  /** Replaces the browser's earlier pending sign-in, if any: one per browser. */
  put(signIn: SsoSignInRecord): Promise<void>;
  /** Deletes and returns the live sign-in: single use, even under concurrent callbacks. */
  consume(browserHash: string, now: number): Promise<SsoSignInRecord | undefined>;
}

/** The tokens an SSO user's last sign-in got from their IdP: the subject of token exchanges toward upstreams. */
export interface SsoIdentityTokenRecord {
  userId: string;
  providerId: string;
  /** The access token, refresh token and expiry, sealed with the user id as context. */
  sealed: string;
  /** When the access token expires (epoch ms); refreshed with the refresh token after. */
  expiresAt: number;
  updatedAt: number;
}

export interface SsoIdentityTokenStore {
  /** Replaces the user's tokens: one set per user, from their latest sign-in or refresh. */
  put(record: SsoIdentityTokenRecord): Promise<void>;
  find(userId: string): Promise<SsoIdentityTokenRecord | undefined>;
  /** The users whose tokens from `providerId` were stored most recently, newest first. */
  recentUsers(providerId: string, limit: number): Promise<string[]>;
  /** Forgets the user's tokens (refused by the IdP): they must sign in again. */
  delete(userId: string): Promise<void>;
}

export interface IdJagReplayStore {
  /**
   * Remembers an assertion's `jti` of `issuer` until `expiresAt`: true the first time, false when it was already
   * redeemed (on any replica), so that each ID-JAG is used once.
   */
  remember(issuer: string, jti: string, expiresAt: number): Promise<boolean>;
}

export interface Store {
  meta: MetaStore;
  users: UserStore;
  sessions: BrowserSessionStore;
  apiKeys: ApiKeyStore;
  loginFailures: LoginFailureStore;
  ssoSignIns: SsoSignInStore;
  ssoIdentityTokens: SsoIdentityTokenStore;
  idJagAssertions: IdJagReplayStore;
}
