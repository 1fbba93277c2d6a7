/**
 * Curated tool sets ("virtual servers"), each served at /mcp/{name} with its own resource identifier; an MCP
 * session remembers which of them (or plain /mcp, null) it was opened on, so no replica serves it anywhere else.
 */
export const virtualServers = `
CREATE TABLE virtual_servers (
  name TEXT PRIMARY KEY,
  description TEXT,
  tools TEXT NOT NULL,
  allowed_users TEXT,
  allowed_groups TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
ALTER TABLE mcp_sessions ADD COLUMN virtual_server TEXT;
`;
