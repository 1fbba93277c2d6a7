/**
 * Company sign-in: where each user comes from (`local` or `sso:<provider id>`), the IdP identity (issuer, sub)
 * an SSO user is keyed by, the groups the IdP last gave; the pending sign-ins at an IdP; and service accounts
 * (a user row for policies and the audit, an OAuth client row for client_credentials, and this link between them).
 * NULLs are distinct in a unique index on both backends, so local users (no external identity) never collide.
 */
export const identity = `
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN external_issuer TEXT;
ALTER TABLE users ADD COLUMN external_subject TEXT;
ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX users_by_external_identity ON users (external_issuer, external_subject);

CREATE TABLE sso_sign_ins (
  browser_hash TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sso_sign_ins_by_expiry ON sso_sign_ins (expires_at);

CREATE TABLE service_accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
`;
