import type { Db } from '../db.js';
import type { ToolPinRecord, ToolPinStore } from '../gateway-types.js';
import { camelRows, insertSql } from './rows.js';

const COLUMNS = 'upstream_id, tool, definition_hash, definition, pinned_at, pinned_by';

export function sqlToolPinStore(db: Db): ToolPinStore {
  return {
    async list(upstreamIds) {
      if (upstreamIds.length === 0) return [];
      const placeholders = upstreamIds.map(() => '?').join(', ');
      return camelRows<ToolPinRecord>(await db.all(`SELECT ${COLUMNS} FROM tool_pins WHERE upstream_id IN (${placeholders}) ORDER BY upstream_id, tool`, upstreamIds));
    },
    async pinIfAbsent(pins) {
      for (const pin of pins) {
        const { sql, params } = insertSql('tool_pins', pin, 'ON CONFLICT (upstream_id, tool) DO NOTHING');
        await db.run(sql, params);
      }
    },
    async replace(pin) {
      const { sql, params } = insertSql(
        'tool_pins',
        pin,
        `ON CONFLICT (upstream_id, tool) DO UPDATE SET definition_hash = excluded.definition_hash, definition = excluded.definition,
           pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by, seen_hash = NULL`,
      );
      await db.run(sql, params);
    },
    async noteChange(upstreamId, tool, hash) {
      // One conditional update: of replicas noting the same change at once, exactly one changes the row.
      const result = await db.run(
        'UPDATE tool_pins SET seen_hash = ? WHERE upstream_id = ? AND tool = ? AND definition_hash <> ? AND (seen_hash IS NULL OR seen_hash <> ?)',
        [hash, upstreamId, tool, hash, hash],
      );
      return result.changes > 0;
    },
  };
}
