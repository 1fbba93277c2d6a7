/**
 * MCP sessions in the store, so that any replica of a fleet can serve any session: what rebuilding one needs (who
 * opened it, what the client declared at initialize, its log level) and when it was last used, for idle expiry
 * and the per-user cap counted across replicas.
 */
export const mcpSessions = `
CREATE TABLE mcp_sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  username TEXT NOT NULL,
  client_id TEXT,
  via TEXT NOT NULL,
  protocol_version TEXT NOT NULL,
  client_capabilities TEXT NOT NULL,
  client_info TEXT NOT NULL,
  initialized INTEGER NOT NULL DEFAULT 0,
  log_level TEXT,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);
CREATE INDEX mcp_sessions_by_user ON mcp_sessions (user_id, last_seen_at);
CREATE INDEX mcp_sessions_by_last_seen ON mcp_sessions (last_seen_at);
`;
