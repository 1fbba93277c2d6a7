/** Records as the store keeps them: times are epoch milliseconds, secrets only as keyed hashes. */
export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  isAdmin: boolean;
  disabledAt: number | null;
  createdAt: number;
  updatedAt: number;
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
  create(user: UserRecord): Promise<void>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  count(): Promise<number>;
  updatePasswordHash(id: string, passwordHash: string, now: number): Promise<boolean>;
  setDisabled(id: string, disabledAt: number | null, now: number): Promise<boolean>;
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

export interface Store {
  meta: MetaStore;
  users: UserStore;
  sessions: BrowserSessionStore;
  apiKeys: ApiKeyStore;
  loginFailures: LoginFailureStore;
}
