import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { findTool } from './catalog.js';
import type { GatewayState } from './gateway-state.js';
import { toolPermitted, upstreamVisibleTo } from './policy.js';
import type { Principal } from './principal.js';

/**
 * The scopes one JSON-RPC message needs (issue 4, "Scopes"): `mcp:read` lists and reads, and calls tools
 * whose annotations say `readOnlyHint: true`; any other call needs `mcp:write`. Session plumbing
 * (initialize, ping, notifications, responses) needs nothing beyond a valid token.
 *
 * Synchronous: tool annotations come from the catalog's cache, which is refreshed whenever an upstream's
 * tool list changes. A tool not in the cache needs `mcp:write` (the call itself then fails -32602).
 */

export const READ_SCOPE = 'mcp:read';
export const WRITE_SCOPE = 'mcp:write';

const needNothing = new Set(['initialize', 'ping']);

// Answered on every request: the same few lists, not a new array each time.
const NONE: readonly string[] = Object.freeze([]);
const READ: readonly string[] = Object.freeze([READ_SCOPE]);
const WRITE: readonly string[] = Object.freeze([WRITE_SCOPE]);

export function scopesRequiredFor(message: JSONRPCMessage, gateway: Pick<GatewayState, 'registry' | 'catalog'>, principal?: Pick<Principal, 'username'>): readonly string[] {
  // Notifications and responses carry no `id` + `method` pair.
  if (!('method' in message) || !('id' in message)) return NONE;
  if (needNothing.has(message.method)) return NONE;
  if (message.method !== 'tools/call') return READ;
  const name = (message.params as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string') return WRITE;
  const found = findTool(gateway.registry, gateway.catalog, name);
  if (!found) return WRITE;
  // A tool hidden from this user must answer like an unknown one, scopes included.
  if (principal && !(upstreamVisibleTo(found.upstream.settings, principal) && toolPermitted(found.upstream.settings, found.original))) {
    return WRITE;
  }
  return found.tool.annotations?.readOnlyHint === true ? READ : WRITE;
}
