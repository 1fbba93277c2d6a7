/** The gateway: upstream MCP servers and the audit trail of tool calls. */
export const gateway = `
CREATE TABLE upstreams (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  config TEXT NOT NULL,
  sealed_secrets TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE tool_calls (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  user_id TEXT,
  client_id TEXT,
  upstream_id TEXT NOT NULL,
  upstream_name TEXT NOT NULL,
  tool TEXT NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  arguments TEXT
);
CREATE INDEX tool_calls_by_time ON tool_calls (at);
CREATE INDEX tool_calls_by_user ON tool_calls (user_id, at);
`;
