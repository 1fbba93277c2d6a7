/**
 * Identity carried between the company IdP and Gatehouse: the ID-JAG assertions already redeemed (their `jti` per
 * issuer, kept until they expire, so that a replay is refused on every replica), and each SSO user's tokens at the
 * IdP from their last sign-in (sealed), the subject of token exchanges toward upstreams that trust the same IdP.
 */
export const enterpriseIdentity = `
CREATE TABLE id_jag_assertions (
  assertion_key TEXT PRIMARY KEY,
  issuer TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX id_jag_assertions_by_expiry ON id_jag_assertions (expires_at);

CREATE TABLE sso_identity_tokens (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  provider_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
`;
