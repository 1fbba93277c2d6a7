import type { Db } from '../db.js';
import type { VirtualServerRecord, VirtualServerStore } from '../gateway-types.js';
import { insertSql } from './rows.js';

interface Row {
  name: string;
  description: string | null;
  tools: string;
  allowed_users: string | null;
  allowed_groups: string | null;
  created_at: number | string;
  updated_at: number | string;
}

const list = (text: string | null) => (text === null ? null : (JSON.parse(text) as string[]));
const text = (values: string[] | null) => (values === null ? null : JSON.stringify(values));

const recordOf = (row: Row): VirtualServerRecord => ({
  name: row.name,
  description: row.description,
  tools: JSON.parse(row.tools) as string[],
  allowedUsers: list(row.allowed_users),
  allowedGroups: list(row.allowed_groups),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export function sqlVirtualServerStore(db: Db): VirtualServerStore {
  return {
    async list() {
      return (await db.all<Row>('SELECT * FROM virtual_servers ORDER BY name')).map(recordOf);
    },
    async find(name) {
      const row = await db.get<Row>('SELECT * FROM virtual_servers WHERE name = ?', [name]);
      return row && recordOf(row);
    },
    async create(server) {
      const { sql, params } = insertSql('virtual_servers', {
        name: server.name,
        description: server.description,
        tools: JSON.stringify(server.tools),
        allowedUsers: text(server.allowedUsers),
        allowedGroups: text(server.allowedGroups),
        createdAt: server.createdAt,
        updatedAt: server.updatedAt,
      });
      await db.run(sql, params);
    },
    async update(server) {
      const result = await db.run(
        'UPDATE virtual_servers SET description = ?, tools = ?, allowed_users = ?, allowed_groups = ?, updated_at = ? WHERE name = ?',
        [server.description, JSON.stringify(server.tools), text(server.allowedUsers), text(server.allowedGroups), server.updatedAt, server.name],
      );
      return result.changes > 0;
    },
    async delete(name) {
      return (await db.run('DELETE FROM virtual_servers WHERE name = ?', [name])).changes > 0;
    },
  };
}
