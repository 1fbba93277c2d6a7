/** Outbound OAuth: each upstream's OAuth setup, Gatehouse's client registrations there, pending flows, and tokens. */
export const outbound = `
CREATE TABLE upstream_oauth_configs (
  id TEXT PRIMARY KEY,
  upstream_id TEXT NOT NULL UNIQUE,
  discovered TEXT,
  status TEXT NOT NULL,
  error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE upstream_oauth_clients (
  upstream_id TEXT NOT NULL,
  issuer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  sealed_secret TEXT,
  auth_method TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (upstream_id, issuer)
);

CREATE TABLE upstream_oauth_flows (
  id TEXT PRIMARY KEY,
  state_hash TEXT NOT NULL UNIQUE,
  upstream_id TEXT NOT NULL,
  user_id TEXT,
  purpose TEXT NOT NULL,
  sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX upstream_oauth_flows_by_expiry ON upstream_oauth_flows (expires_at);

CREATE TABLE upstream_tokens (
  upstream_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  issuer TEXT NOT NULL,
  sealed TEXT NOT NULL,
  expires_at BIGINT,
  status TEXT NOT NULL,
  reason TEXT,
  version INTEGER NOT NULL,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (upstream_id, subject)
);
CREATE INDEX upstream_tokens_by_subject ON upstream_tokens (subject);
`;
