/**
 * Retention: indexes that let each sweep find its rows without scanning the table, and the lease that lets one
 * process of a fleet sweep at a time. Partial indexes keep the refresh path's extra index writes to the rows a
 * sweep looks for (live tokens by expiry; rotated ones by rotation, and those still holding a replay copy).
 */
export const retention = `
CREATE INDEX refresh_tokens_live_by_expiry ON refresh_tokens (expires_at) WHERE rotated_at IS NULL;
CREATE INDEX refresh_tokens_rotated ON refresh_tokens (rotated_at) WHERE rotated_at IS NOT NULL;
CREATE INDEX refresh_tokens_with_replay ON refresh_tokens (rotated_at) WHERE replay_response IS NOT NULL;
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);
CREATE INDEX oauth_grants_revoked ON oauth_grants (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX authorization_flows_by_expiry ON authorization_flows (expires_at);
CREATE INDEX browser_sessions_by_expiry ON browser_sessions (absolute_expires_at);
CREATE INDEX browser_sessions_by_last_seen ON browser_sessions (last_seen_at);
CREATE INDEX login_failures_by_last_failure ON login_failures (last_failure_at);
CREATE INDEX rate_windows_by_start ON rate_windows (window_start);

CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
`;
