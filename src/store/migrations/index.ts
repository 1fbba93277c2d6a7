import { foundation } from './001_foundation.js';
import { oauth } from './002_oauth.js';
import { gateway } from './003_gateway.js';
import { outbound } from './004_outbound.js';
import { retention } from './006_retention.js';
import { identity } from './007_identity.js';
import { mcpSessions } from './008_mcp_sessions.js';
import { toolPins } from './009_tool_pins.js';
import { callApprovals } from './010_call_approvals.js';
import { virtualServers } from './011_virtual_servers.js';
import { enterpriseIdentity } from './012_enterprise_identity.js';
import { mcpSessionApiKeys } from './013_mcp_session_api_keys.js';
import { fleetMessages } from './015_fleet_messages.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: a released migration is never edited, a new one is added with the next version. */
export const migrations: readonly Migration[] = [
  { version: 1, name: 'foundation', sql: foundation },
  { version: 2, name: 'oauth', sql: oauth },
  { version: 3, name: 'gateway', sql: gateway },
  { version: 4, name: 'outbound', sql: outbound },
  { version: 6, name: 'retention', sql: retention },
  { version: 7, name: 'identity', sql: identity },
  { version: 8, name: 'mcp_sessions', sql: mcpSessions },
  { version: 9, name: 'tool_pins', sql: toolPins },
  { version: 10, name: 'call_approvals', sql: callApprovals },
  { version: 11, name: 'virtual_servers', sql: virtualServers },
  { version: 12, name: 'enterprise_identity', sql: enterpriseIdentity },
  { version: 13, name: 'mcp_session_api_keys', sql: mcpSessionApiKeys },
  { version: 15, name: 'fleet_messages', sql: fleetMessages },
];
