import type { Db } from '../db.js';
import type { UpstreamRecord, UpstreamStore } from '../gateway-types.js';
import { camelRow, camelRows, insertSql } from './rows.js';

export function sqlUpstreamStore(db: Db): UpstreamStore {
  return {
    async list() {
      return camelRows<UpstreamRecord>(await db.all('SELECT * FROM upstreams ORDER BY name'));
    },
    async find(id) {
      return camelRow<UpstreamRecord>(await db.get('SELECT * FROM upstreams WHERE id = ?', [id]));
    },
    async findByName(name) {
      return camelRow<UpstreamRecord>(await db.get('SELECT * FROM upstreams WHERE name = ?', [name]));
    },
    async create(upstream) {
      const { sql, params } = insertSql('upstreams', upstream);
      await db.run(sql, params);
    },
    async update(id, patch) {
      const result = await db.run('UPDATE upstreams SET name = ?, config = ?, sealed_secrets = ?, updated_at = ? WHERE id = ?', [
        patch.name,
        patch.config,
        patch.sealedSecrets,
        patch.updatedAt,
        id,
      ]);
      return result.changes > 0;
    },
    async delete(id) {
      // Its pinned tool definitions go with it: an upstream added later under the same name starts unpinned.
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM tool_pins WHERE upstream_id = ?', [id]);
        return (await tx.run('DELETE FROM upstreams WHERE id = ?', [id])).changes > 0;
      });
    },
  };
}
