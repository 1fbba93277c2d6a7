import type { Principal } from './principal.js';
import type { UpstreamSettings } from '../upstream/types.js';

/**
 * Who may use what. `tools/list` and `tools/call` both ask these two questions, so a tool is listed exactly
 * when it may be called.
 */

/** An upstream is visible when it names no users, or names this principal's. */
export function upstreamVisibleTo(settings: Pick<UpstreamSettings, 'allowed_users'>, principal: Pick<Principal, 'username'>): boolean {
  return settings.allowed_users === undefined || settings.allowed_users.includes(principal.username);
}

/** A tool (by its upstream name) passes the allow list (absent or `*`: all) and is not on the deny list, which wins. */
export function toolPermitted(settings: Pick<UpstreamSettings, 'tools_to_execute' | 'tools_to_skip'>, tool: string): boolean {
  if (settings.tools_to_skip?.includes(tool)) return false;
  const allowed = settings.tools_to_execute;
  return allowed === undefined || allowed.includes('*') || allowed.includes(tool);
}
