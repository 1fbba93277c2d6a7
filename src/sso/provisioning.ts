import type { SsoProviderSettings } from '../config-sso.js';
import { newId } from '../crypto/random.js';
import { unusablePasswordHash } from '../identity/password.js';
import { normaliseUsername, USERNAME_PATTERN } from '../identity/users.js';
import type { UserRecord, UserStore } from '../store/index.js';
import type { IdentityClaims } from './relying-party.js';
import { SsoSignInError } from './sign-in-errors.js';

/**
 * Just-in-time users of company sign-in. A person is keyed by (issuer, sub), never by email: the same email at
 * another IdP, or a local account of the same name, is somebody else. Their username is chosen once, at the first
 * sign-in; a name that is taken gets the provider id as a suffix (`alice-okta`, then `alice-okta-2`, …), so an
 * IdP identity is never merged into an existing account. Groups, and the admin flag derived from them, are
 * refreshed at every sign-in.
 */

const DEFAULT_USERNAME_CLAIMS = ['preferred_username', 'email'];
const MAX_SUFFIX = 20;
const USERNAME_MAX_LENGTH = 64;

/** The groups claim as a list: IdPs send an array, some a single string. */
export function groupsFrom(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return [...new Set(list.filter((group): group is string => typeof group === 'string' && group.length > 0))];
}

const sharesAny = (groups: readonly string[], wanted: readonly string[]) => wanted.some((group) => groups.includes(group));

/** With `allowed_groups`, only their members may sign in; without, everyone the IdP signs in. */
export function mayUseGatehouse(provider: Pick<SsoProviderSettings, 'allowed_groups'>, groups: readonly string[]): boolean {
  return provider.allowed_groups === undefined || sharesAny(groups, provider.allowed_groups);
}

/** With `admin_groups`, the IdP decides who is an admin at every sign-in; without, the flag stays as it is. */
export function adminFlag(provider: Pick<SsoProviderSettings, 'admin_groups'>, groups: readonly string[], current: boolean): boolean {
  return provider.admin_groups.length === 0 ? current : sharesAny(groups, provider.admin_groups);
}

/** A claim's value made into a username: lowercased, other characters as `-`, within the length limit. */
function usernameFrom(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = normaliseUsername(value)
    .replace(/[^a-z0-9._@-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, USERNAME_MAX_LENGTH);
  return USERNAME_PATTERN.test(name) ? name : undefined;
}

/** The claims a username is read from, in order. */
export function usernameClaims(provider: Pick<SsoProviderSettings, 'username_claim'>): string[] {
  return provider.username_claim ? [provider.username_claim] : DEFAULT_USERNAME_CLAIMS;
}

/** The username to try first, then the suffixed ones for when it is taken. */
export function usernameCandidates(provider: Pick<SsoProviderSettings, 'id' | 'username_claim'>, claims: Record<string, unknown>): string[] {
  const base = usernameClaims(provider).map((claim) => usernameFrom(claims[claim])).find((name) => name !== undefined);
  if (!base) return [];
  const suffixed = (suffix: string) => `${base.slice(0, USERNAME_MAX_LENGTH - suffix.length)}${suffix}`;
  const suffixes = Array.from({ length: MAX_SUFFIX }, (_, i) => (i === 0 ? `-${provider.id}` : `-${provider.id}-${i + 1}`));
  return [base, ...suffixes.map(suffixed)];
}

/** The Gatehouse user for a validated identity: created on first sign-in, its groups and admin flag refreshed after. */
export async function provisionUser(
  users: UserStore,
  provider: SsoProviderSettings,
  claims: IdentityClaims,
  now: () => number = Date.now,
): Promise<UserRecord> {
  const groups = groupsFrom(claims, provider.groups_claim);
  if (!mayUseGatehouse(provider, groups)) throw new SsoSignInError('not_allowed', `in none of the allowed groups (has ${groups.length})`);
  const known = await users.findByExternalIdentity(claims.iss, claims.sub);
  if (known) {
    if (known.disabledAt !== null) throw new SsoSignInError('account_disabled', `user ${known.id} is disabled`);
    const isAdmin = adminFlag(provider, groups, known.isAdmin);
    await users.updateIdentityProviderFacts(known.id, { groups, isAdmin }, now());
    return { ...known, groups, isAdmin };
  }
  return createUser(users, provider, claims, groups, now());
}

async function createUser(users: UserStore, provider: SsoProviderSettings, claims: IdentityClaims, groups: string[], at: number): Promise<UserRecord> {
  for (const username of usernameCandidates(provider, claims)) {
    if (await users.findByUsername(username)) continue;
    const user: UserRecord = {
      id: newId('usr'),
      username,
      // This account signs in through its IdP only.
      passwordHash: await unusablePasswordHash(),
      isAdmin: adminFlag(provider, groups, false),
      disabledAt: null,
      createdAt: at,
      updatedAt: at,
      source: `sso:${provider.id}`,
      externalIssuer: claims.iss,
      externalSubject: claims.sub,
      groups,
    };
    try {
      await users.create(user);
      return user;
    } catch (error) {
      // A concurrent first sign-in of the same person won: theirs is the account. Otherwise the name was just taken.
      const winner = await users.findByExternalIdentity(claims.iss, claims.sub);
      if (winner) return winner;
      if (!(await users.findByUsername(username))) throw error;
    }
  }
  throw new SsoSignInError('no_username', 'no usable, free username in the username claims');
}
