/**
 * Human approval of risky tool calls: one row per call a person was asked to approve, bound to that person, the
 * upstream tool and a keyed hash of the exact arguments. `status` moves pending -> approved | denied -> spent; the
 * row is spent when the approved call is forwarded, or when its denial or expiry has been answered.
 */
export const callApprovals = `
CREATE TABLE call_approvals (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  upstream_id TEXT NOT NULL,
  upstream_name TEXT NOT NULL,
  tool TEXT NOT NULL,
  exposed_name TEXT NOT NULL,
  arguments_hash TEXT NOT NULL,
  arguments TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  decided_at BIGINT
);
CREATE INDEX call_approvals_by_call ON call_approvals (user_id, upstream_id, tool, arguments_hash, created_at);
CREATE INDEX call_approvals_by_created ON call_approvals (created_at);
`;
