import type { Db } from '../db.js';
import type { GrantRecord, RefreshRotation, RefreshTokenRecord, RefreshTokenStore, RotationOutcome } from '../oauth-types.js';
import { GRANT_LAST_USED_PRECISION_MS, grantTouchDue, sqlGrantStore } from './grants.js';
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
    findWithGrant: (tokenHash) => findRefreshTokenWithGrant(db, tokenHash),
    // A caller that loses the compare-and-set writes nothing, so the refresh token it minted never becomes live.
    rotate: (rotation) => (db.dialect === 'postgres' ? rotateInOneStatement(db, rotation) : rotateInTransaction(db, rotation)),
  };
}

/** SQLite: one transaction (its group commit shares the COMMIT with the turn's other writes). */
function rotateInTransaction(db: Db, { tokenHash, now, replayResponse, successor, grant }: RefreshRotation): Promise<RotationOutcome> {
  // Only the transaction's own Db is used inside it (SQLite's group commit would otherwise wait on itself).
  return db.transaction(async (tx) => {
    const retired = await tx.run(
      'UPDATE refresh_tokens SET rotated_at = ?, replay_response = ? WHERE token_hash = ? AND rotated_at IS NULL',
      [now, replayResponse, tokenHash],
    );
    if (retired.changes !== 1) return 'lost';
    if (successor) {
      const { sql, params } = insertSql('refresh_tokens', successor);
      await tx.run(sql, params);
    }
    if (grantTouchDue(grant.lastUsedAt, now)) await sqlGrantStore(tx).touch(grant.id, now);
    return 'won';
  });
}

/**
 * PostgreSQL: the compare-and-set, the successor's insert and the grant's touch as one statement (data-modifying
 * CTEs), so one round trip and no BEGIN/COMMIT. A statement is atomic: the successor and the touch happen only
 * when this caller's UPDATE retired the token, and a concurrent rotation of the same token waits on its row lock,
 * then finds it rotated and changes nothing.
 */
async function rotateInOneStatement(db: Db, { tokenHash, now, replayResponse, successor, grant }: RefreshRotation): Promise<RotationOutcome> {
  const insert = successor ? insertSql('refresh_tokens', successor) : undefined;
  const parts = [
    'WITH retired AS (UPDATE refresh_tokens SET rotated_at = ?, replay_response = ? WHERE token_hash = ? AND rotated_at IS NULL RETURNING grant_id)',
    insert ? `, successor AS (${insert.sql.replace(/ VALUES \((.*)\)$/, ' SELECT $1 FROM retired')})` : '',
    ', touched AS (UPDATE oauth_grants SET last_used_at = ? WHERE id = ? AND EXISTS (SELECT 1 FROM retired) AND (last_used_at IS NULL OR last_used_at < ?))',
    ' SELECT count(*) AS won FROM retired',
  ];
  const params = [now, replayResponse, tokenHash, ...(insert?.params ?? []), now, grant.id, now - GRANT_LAST_USED_PRECISION_MS];
  const row = await db.get<{ won: number }>(parts.join(''), params);
  return Number(row?.won) === 1 ? 'won' : 'lost';
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

async function findRefreshTokenWithGrant(db: Db, tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: GrantRecord } | undefined> {
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
