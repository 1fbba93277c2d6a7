import { randomBytes } from 'node:crypto';
import { newId } from '../crypto/random.js';
import type { Store, UserRecord } from '../store/index.js';
import { hashPassword, passwordProblem } from './password.js';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

/** A user-facing refusal (bad username, taken name, weak password); callers map it to 400/409 or exit 2. */
export class UserInputError extends Error {
  constructor(
    message: string,
    readonly field: 'username' | 'password' | 'is_admin',
    readonly conflict = false,
    /** The API's error code for it. */
    readonly code: 'username_taken' | 'last_active_admin' | 'not_local_user' | 'validation_failed' = conflict ? 'username_taken' : 'validation_failed',
  ) {
    super(message);
    this.name = 'UserInputError';
  }
}

/** Usernames are compared case-insensitively: stored lowercased. */
export function normaliseUsername(username: string): string {
  return username.trim().toLowerCase();
}

export const LOCAL_SOURCE = 'local';

/** The user as the API and CLI show it: never the password hash, nor the IdP identity it is keyed by. */
export interface PublicUser {
  id: string;
  username: string;
  is_admin: boolean;
  disabled: boolean;
  created_at: string;
  /** `local` or `sso:<provider id>`. */
  source: string;
  groups: string[];
}

export function publicUser(user: UserRecord): PublicUser {
  return {
    id: user.id,
    username: user.username,
    is_admin: user.isAdmin,
    disabled: user.disabledAt !== null,
    created_at: new Date(user.createdAt).toISOString(),
    source: user.source,
    groups: user.groups,
  };
}

export interface UserService {
  create(input: { username: string; password: string; isAdmin?: boolean }): Promise<UserRecord>;
  setPassword(username: string, password: string): Promise<UserRecord>;
  disable(username: string): Promise<UserRecord>;
  enable(username: string): Promise<UserRecord>;
  /** Local users only: an SSO user's admin flag follows their groups at each sign-in. */
  setAdmin(username: string, isAdmin: boolean): Promise<UserRecord>;
  /** Deletes the user with their sessions, keys and grants; never the last active admin. */
  remove(username: string): Promise<void>;
  find(username: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** On an empty database, creates `admin`; returns the generated password when none was given. */
  ensureInitialAdmin(password?: string): Promise<{ created: boolean; generatedPassword?: string }>;
}

export function userService(store: Pick<Store, 'users' | 'sessions' | 'apiKeys'>, now: () => number = Date.now): UserService {
  const requireUser = async (username: string) => {
    const user = await store.users.findByUsername(normaliseUsername(username));
    if (!user) throw new UserInputError(`no user named ${JSON.stringify(username)}`, 'username');
    return user;
  };
  /** Step: nobody could sign in to the management API or undo the change after it. */
  const refuseLastActiveAdmin = async (user: UserRecord, change: string) => {
    if (!user.isAdmin || user.disabledAt !== null) return;
    const otherActiveAdmins = (await store.users.list()).filter((u) => u.isAdmin && u.disabledAt === null && u.id !== user.id);
    if (otherActiveAdmins.length === 0) {
      throw new UserInputError(`${user.username} is the last active admin and cannot be ${change}; add another admin first`, 'username', true, 'last_active_admin');
    }
  };
  const requireLocal = (user: UserRecord, what: string, field: 'password' | 'is_admin') => {
    if (user.source !== LOCAL_SOURCE) throw new UserInputError(`${user.username} is not a local user (source ${user.source}): ${what}`, field, true, 'not_local_user');
  };
  const checkPassword = (password: string) => {
    const problem = passwordProblem(password);
    if (problem) throw new UserInputError(`password ${problem}`, 'password');
  };

  const service: UserService = {
    async create({ username, password, isAdmin = false }) {
      const name = normaliseUsername(username);
      if (!USERNAME_PATTERN.test(name)) {
        throw new UserInputError('username must be 1-64 characters: letters, digits, and . _ @ - (not first)', 'username');
      }
      checkPassword(password);
      if (await store.users.findByUsername(name)) throw new UserInputError(`user ${JSON.stringify(name)} exists already`, 'username', true);
      const at = now();
      const user: UserRecord = {
        id: newId('usr'),
        username: name,
        passwordHash: await hashPassword(password),
        isAdmin,
        disabledAt: null,
        createdAt: at,
        updatedAt: at,
        source: LOCAL_SOURCE,
        externalIssuer: null,
        externalSubject: null,
        groups: [],
      };
      try {
        await store.users.create(user);
      } catch (error) {
        // Two concurrent creates of one name: the unique index decides, the loser gets the same answer as above.
        if (await store.users.findByUsername(name)) throw new UserInputError(`user ${JSON.stringify(name)} exists already`, 'username', true);
        throw error;
      }
      return user;
    },
    async setPassword(username, password) {
      const user = await requireUser(username);
      requireLocal(user, 'their password is kept by their identity provider', 'password');
      checkPassword(password);
      await store.users.updatePasswordHash(user.id, await hashPassword(password), now());
      // A new password ends every browser session opened with the old one.
      await store.sessions.revokeAllForUser(user.id, now());
      return (await store.users.findById(user.id))!;
    },
    async disable(username) {
      const user = await requireUser(username);
      await refuseLastActiveAdmin(user, 'disabled');
      await store.users.setDisabled(user.id, now(), now());
      await store.sessions.revokeAllForUser(user.id, now());
      return (await store.users.findById(user.id))!;
    },
    async enable(username) {
      const user = await requireUser(username);
      await store.users.setDisabled(user.id, null, now());
      return (await store.users.findById(user.id))!;
    },
    async setAdmin(username, isAdmin) {
      const user = await requireUser(username);
      requireLocal(user, 'their admin flag follows their groups at the identity provider', 'is_admin');
      if (!isAdmin) await refuseLastActiveAdmin(user, 'demoted');
      await store.users.setAdmin(user.id, isAdmin, now());
      return (await store.users.findById(user.id))!;
    },
    async remove(username) {
      const user = await requireUser(username);
      await refuseLastActiveAdmin(user, 'deleted');
      await store.users.delete(user.id);
    },
    find: (username) => store.users.findByUsername(normaliseUsername(username)),
    list: () => store.users.list(),
    async ensureInitialAdmin(password) {
      if ((await store.users.count()) > 0) return { created: false };
      const generated = password ? undefined : randomBytes(18).toString('base64url');
      try {
        await service.create({ username: 'admin', password: password ?? generated!, isAdmin: true });
      } catch (error) {
        // Another replica created it first.
        if (error instanceof UserInputError && error.conflict) return { created: false };
        throw error;
      }
      return { created: true, generatedPassword: generated };
    },
  };
  return service;
}
