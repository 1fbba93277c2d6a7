import type { Principal } from './principal.js';
import type { UpstreamSettings } from '../upstream/types.js';

/**
 * Who may use what. `tools/list` and `tools/call` both ask these two questions, so a tool is listed exactly
 * when it may be called.
 */

/** An upstream is visible when it names neither users nor groups, or names this principal's user or one of its groups. */
export function upstreamVisibleTo(
  settings: Pick<UpstreamSettings, 'allowed_users' | 'allowed_groups'>,
  principal: Pick<Principal, 'username' | 'groups'>,
): boolean {
  const { allowed_users: users, allowed_groups: groups } = settings;
  if (users === undefined && groups === undefined) return true;
  return (users?.includes(principal.username) ?? false) || (principal.groups?.some((group) => groups?.includes(group)) ?? false);
}

/** A tool (by its upstream name) passes the allow list (absent or `*`: all) and is not on the deny list, which wins. */
export function toolPermitted(settings: Pick<UpstreamSettings, 'tools_to_execute' | 'tools_to_skip'>, tool: string): boolean {
  if (settings.tools_to_skip?.includes(tool)) return false;
  const allowed = settings.tools_to_execute;
  return allowed === undefined || allowed.includes('*') || allowed.includes(tool);
}
