import type { Db } from '../db.js';
import type { GrantRecord, RefreshTokenRecord, RefreshTokenStore } from '../oauth-types.js';
import { camelRow, insertSql } from './rows.js';

export function sqlRefreshTokenStore(db: Db): RefreshTokenStore {
  return {
    async create(token) {
      const { sql, params } = insertSql('refresh_tokens', token);
      await db.run(sql, params);
    },
    async find(tokenHash) {
      return camelRow<RefreshTokenRecord>(await db.get('SELECT * FROM refresh_tokens WHERE token_hash = ?', [tokenHash]));
    },
    async markRotated(tokenHash, now, replayResponse) {
      const result = await db.run(
        'UPDATE refresh_tokens SET rotated_at = ?, replay_response = ? WHERE token_hash = ? AND rotated_at IS NULL',
        [now, replayResponse, tokenHash],
      );
      return result.changes === 1;
    },
  };
}

/** Aliases name the record fields directly (quoted, so PostgreSQL keeps their case): no per-row key mapping. */
const TOKEN_WITH_GRANT_SQL = `SELECT t.token_hash AS "tokenHash", t.grant_id AS "grantId", t.scope AS "scope", t.created_at AS "createdAt",
  t.expires_at AS "expiresAt", t.rotated_at AS "rotatedAt", t.replay_response AS "replayResponse",
  g.user_id AS "grantUserId", g.client_id AS "grantClientId", g.scope AS "grantScope", g.resource AS "grantResource",
  g.created_at AS "grantCreatedAt", g.expires_at AS "grantExpiresAt", g.last_used_at AS "grantLastUsedAt",
  g.revoked_at AS "grantRevokedAt", g.revoked_reason AS "grantRevokedReason"
  FROM refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = ?`;

type TokenWithGrantRow = RefreshTokenRecord & {
  grantUserId: string;
  grantClientId: string;
  grantScope: string;
  grantResource: string;
  grantCreatedAt: number;
  grantExpiresAt: number;
  grantLastUsedAt: number | null;
  grantRevokedAt: number | null;
  grantRevokedReason: string | null;
};

/** A refresh token and its grant in one read (the token endpoint needs both on every refresh). */
export async function findRefreshTokenWithGrant(db: Db, tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: GrantRecord } | undefined> {
  const row = await db.get<TokenWithGrantRow>(TOKEN_WITH_GRANT_SQL, [tokenHash]);
  if (!row) return undefined;
  return {
    token: {
      tokenHash: row.tokenHash,
      grantId: row.grantId,
      scope: row.scope,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      rotatedAt: row.rotatedAt,
      replayResponse: row.replayResponse,
    },
    grant: {
      id: row.grantId,
      userId: row.grantUserId,
      clientId: row.grantClientId,
      scope: row.grantScope,
      resource: row.grantResource,
      createdAt: row.grantCreatedAt,
      expiresAt: row.grantExpiresAt,
      lastUsedAt: row.grantLastUsedAt,
      revokedAt: row.grantRevokedAt,
      revokedReason: row.grantRevokedReason,
    },
  };
}
