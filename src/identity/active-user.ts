import type { UserRecord, UserStore } from '../store/index.js';

/**
 * Whether a user may act: present and not disabled. Every credential (password, browser session, API key, grant,
 * token introspection) is honoured only for such a user, by this one check.
 */
export function isActiveUser(user: UserRecord | undefined): user is UserRecord {
  return user !== undefined && user.disabledAt === null;
}

/** The user with this id while active; undefined for a disabled or deleted one. */
export async function findActiveUser(users: Pick<UserStore, 'findById'>, userId: string): Promise<UserRecord | undefined> {
  const user = await users.findById(userId);
  return isActiveUser(user) ? user : undefined;
}
