import type { Db } from '../db.js';
import type { UserRecord, UserStore } from '../types.js';
import { camelRow, camelRows } from './rows.js';

type UserRow = Omit<UserRecord, 'isAdmin' | 'groups'> & { isAdmin: number | boolean; groups: string };

const toUser = (row: UserRow | undefined): UserRecord | undefined =>
  row && { ...row, isAdmin: Boolean(row.isAdmin), groups: JSON.parse(row.groups) as string[] };

export function sqlUserStore(db: Db): UserStore {
  const one = async (sql: string, params: unknown[]) => toUser(camelRow<UserRow>(await db.get(sql, params)));
  return {
    async create(user) {
      await db.run(
        'INSERT INTO users (id, username, password_hash, is_admin, disabled_at, created_at, updated_at, source, external_issuer, external_subject, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          user.id, user.username, user.passwordHash, user.isAdmin ? 1 : 0, user.disabledAt, user.createdAt, user.updatedAt,
          user.source ?? 'local', user.externalIssuer ?? null, user.externalSubject ?? null, JSON.stringify(user.groups ?? []),
        ],
      );
    },
    findById: (id) => one('SELECT * FROM users WHERE id = ?', [id]),
    findByUsername: (username) => one('SELECT * FROM users WHERE username = ?', [username]),
    findByExternalIdentity: (issuer, subject) => one('SELECT * FROM users WHERE external_issuer = ? AND external_subject = ?', [issuer, subject]),
    async list() {
      return camelRows<UserRow>(await db.all('SELECT * FROM users ORDER BY created_at, username')).map((row) => toUser(row)!);
    },
    async count() {
      return Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM users'))!.n);
    },
    async updatePasswordHash(id, passwordHash, now) {
      return (await db.run('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?', [passwordHash, now, id])).changes > 0;
    },
    async setDisabled(id, disabledAt, now) {
      return (await db.run('UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?', [disabledAt, now, id])).changes > 0;
    },
    async setAdmin(id, isAdmin, now) {
      return (await db.run('UPDATE users SET is_admin = ?, updated_at = ? WHERE id = ?', [isAdmin ? 1 : 0, now, id])).changes > 0;
    },
    async delete(id) {
      return (await db.run('DELETE FROM users WHERE id = ?', [id])).changes > 0;
    },
    async updateIdentityProviderFacts(id, { groups, isAdmin }, now) {
      return (await db.run('UPDATE users SET groups = ?, is_admin = ?, updated_at = ? WHERE id = ?', [JSON.stringify(groups), isAdmin ? 1 : 0, now, id])).changes > 0;
    },
  };
}
