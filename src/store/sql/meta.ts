import type { Db } from '../db.js';
import type { MetaStore } from '../types.js';

export function sqlMetaStore(db: Db): MetaStore {
  return {
    async get(key) {
      return (await db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]))?.value;
    },
    async putIfAbsent(key, value) {
      await db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value]);
      return (await db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]))!.value;
    },
  };
}
