/**
 * An MCP session opened with an API key is bound to that key, not to any key of its user: the key's id. Null for
 * sessions opened with an access token (bound to the token's user and OAuth client), and for sessions stored before
 * this migration: an API key session without its key is refused (404), and its client opens a new one.
 */
export const mcpSessionApiKeys = `
ALTER TABLE mcp_sessions ADD COLUMN api_key_id TEXT;
`;
