/**
 * Messages between the replicas of a fleet too large for a PostgreSQL NOTIFY payload (8000 bytes): the row holds the
 * message, the notification names the row. The retention sweep deletes rows once every replica has had time to read
 * them (FLEET_MESSAGE_TTL_MS, store/notifications.ts). SQLite (one process) never writes here; the table exists on
 * both backends so that their schemas stay alike.
 */
export const fleetMessages = `
CREATE TABLE fleet_messages (
  id TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX fleet_messages_by_created ON fleet_messages (created_at);
`;
