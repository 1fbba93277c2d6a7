/**
 * Tool governance: the definition of each upstream tool as it was approved (pinned). `seen_hash` is the last changed
 * definition already reported, so a fleet audits one change once however many replicas list it.
 */
export const toolPins = `
CREATE TABLE tool_pins (
  upstream_id TEXT NOT NULL,
  tool TEXT NOT NULL,
  definition_hash TEXT NOT NULL,
  definition TEXT NOT NULL,
  pinned_at BIGINT NOT NULL,
  pinned_by TEXT,
  seen_hash TEXT,
  PRIMARY KEY (upstream_id, tool)
);
`;
