import { retriedOnDeadlock, type Db } from '../db.js';
import { callBatcher } from '../call-batcher.js';
import type { GrantRecord, RefreshRotation, RefreshTokenRecord, RefreshTokenStore, RotationOutcome } from '../oauth-types.js';
import { GRANT_LAST_USED_PRECISION_MS, grantTouchDue, sqlGrantStore } from './grants.js';
import { camelRow, insertSql } from './rows.js';

export function sqlRefreshTokenStore(db: Db): RefreshTokenStore {
  const { findWithGrant, rotate } = db.dialect === 'sqlite' ? sqliteRotation(db) : postgresRotation(db);
  const successors = new StoredSuccessors(MAX_STORED_SUCCESSORS);
  return {
    async create(token: RefreshTokenRecord) {
      const { sql, params } = insertSql('refresh_tokens', token);
      await db.run(sql, params);
    },
    async find(tokenHash: string) {
      return camelRow<RefreshTokenRecord>(await db.get('SELECT * FROM refresh_tokens WHERE token_hash = ?', [tokenHash]));
    },
    findWithGrant,
    // A chain's next refresh presents the successor stored by the last one: handed out from memory, once, its read
    // (a statement, on PostgreSQL a round trip) is saved; the rotation's compare-and-set re-checks what could be stale.
    async findToRotate(tokenHash) {
      return successors.take(tokenHash) ?? findWithGrant(tokenHash);
    },
    async rotate(rotation) {
      const outcome = await rotate(rotation);
      if (outcome === 'won' && rotation.successor) successors.keep(rotation.successor, rotation);
      return outcome;
    },
  };
}

type Rotation = Pick<RefreshTokenStore, 'findWithGrant' | 'rotate'>;

/** SQLite: a read, and a transaction per rotation (its group commit shares the COMMIT with the turn's other writes). */
function sqliteRotation(db: Db): Rotation {
  return { findWithGrant: (tokenHash) => findRefreshTokenWithGrant(db, tokenHash), rotate: (rotation) => rotateInTransaction(db, rotation) };
}

/** PostgreSQL: a turn's lookups in one statement, a turn's rotations in one statement (at most two in flight). */
function postgresRotation(db: Db): Rotation {
  return {
    findWithGrant: callBatcher((hashes: string[]) => findRefreshTokensWithGrants(db, hashes), MAX_BATCH),
    rotate: callBatcher((rotations: RefreshRotation[]) => rotateInOneStatement(db, rotations), MAX_BATCH, ROTATIONS_IN_FLIGHT),
  };
}

/** How many successors a store keeps for their rotation (about 1 kB each); beyond it the oldest are read again. */
const MAX_STORED_SUCCESSORS = 10_000;

/**
 * Successor tokens this store stored, with their grant, until presented: each is taken once (a second presentation,
 * a retry after `lost`, reads the database), the oldest dropped beyond `limit` (a Map keeps insertion order).
 */
class StoredSuccessors {
  readonly #byHash = new Map<string, TokenWithGrant>();
  constructor(readonly limit: number) {}

  /** A won rotation's successor, with its grant as the rotation left it (its use recorded if that was due). */
  keep(successor: RefreshTokenRecord, { grant, now }: RefreshRotation): void {
    if (this.#byHash.size >= this.limit) this.#byHash.delete(this.#byHash.keys().next().value!);
    const lastUsedAt = grantTouchDue(grant.lastUsedAt, now) ? now : grant.lastUsedAt;
    this.#byHash.set(successor.tokenHash, { token: { ...successor }, grant: { ...grant, lastUsedAt } });
  }

  take(tokenHash: string): TokenWithGrant | undefined {
    const stored = this.#byHash.get(tokenHash);
    this.#byHash.delete(tokenHash);
    return stored;
  }
}

/** The compare-and-set: the token is retired only while unrotated and while its grant is not revoked. */
const ROTATE_ONE_SQL = `UPDATE refresh_tokens SET rotated_at = ?, replay_response = ? WHERE token_hash = ? AND rotated_at IS NULL
  AND EXISTS (SELECT 1 FROM oauth_grants g WHERE g.id = refresh_tokens.grant_id AND g.revoked_at IS NULL)`;

/** SQLite: one transaction; a caller that loses the compare-and-set writes nothing, so its successor never becomes live. */
function rotateInTransaction(db: Db, { tokenHash, now, replayResponse, successor, grant }: RefreshRotation): Promise<RotationOutcome> {
  // Only the transaction's own Db is used inside it (SQLite's group commit would otherwise wait on itself).
  return db.transaction(async (tx) => {
    const retired = await tx.run(ROTATE_ONE_SQL, [now, replayResponse, tokenHash]);
    if (retired.changes !== 1) return 'lost';
    if (successor) {
      const { sql, params } = insertSql('refresh_tokens', successor);
      await tx.run(sql, params);
    }
    if (grantTouchDue(grant.lastUsedAt, now)) await sqlGrantStore(tx).touch(grant.id, now);
    return 'won';
  });
}

/** The most rotations (or lookups) one PostgreSQL statement takes; a busier turn sends several. */
const MAX_BATCH = 64;

/**
 * Rotation statements in flight at once: the rotations requested meanwhile wait for one to finish and leave together,
 * so under load fewer, fuller statements (and commits) are sent: measured, about a fifth more refreshes per second
 * than a statement per turn (bench/README.md). Two, not one, so one statement waiting on a row lock (an admin's
 * transaction, another replica's) does not hold up every refresh.
 */
const ROTATIONS_IN_FLIGHT = 2;

/**
 * PostgreSQL: the rotations requested in one event-loop turn as one statement (data-modifying CTEs over the
 * rotations as arrays): the compare-and-set retires each token still unrotated whose grant is not revoked, only the
 * retired ones' successors are inserted, and their grants touched when due. So a turn's rotations share one round
 * trip and one commit, and no BEGIN/COMMIT is sent. The grant is checked by a scalar subquery, an index probe per
 * retired row: as a join (EXISTS) the planner may start from the grants and scan each one's live tokens (measured:
 * 30 ms a statement). A statement is atomic and each row's compare-and-set its own: a concurrent rotation of the
 * same token in another statement waits on the row lock, then finds it rotated and changes nothing.
 */
const ROTATE_SQL = `WITH rotation AS (
    SELECT * FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
      AS r(token_hash, now, replay_response, successor_hash, successor_scope, successor_created_at, successor_expires_at)
  ), retired AS (
    UPDATE refresh_tokens t SET rotated_at = r.now, replay_response = r.replay_response
    FROM rotation r WHERE t.token_hash = r.token_hash AND t.rotated_at IS NULL
      AND (SELECT g.revoked_at FROM oauth_grants g WHERE g.id = t.grant_id) IS NULL
    RETURNING t.token_hash, t.grant_id, r.now
  ), successors AS (
    INSERT INTO refresh_tokens (token_hash, grant_id, scope, created_at, expires_at)
    SELECT r.successor_hash, retired.grant_id, r.successor_scope, r.successor_created_at, r.successor_expires_at
    FROM retired JOIN rotation r ON r.token_hash = retired.token_hash WHERE r.successor_hash IS NOT NULL
  ), touched AS (
    UPDATE oauth_grants g SET last_used_at = used.at
    FROM (SELECT grant_id, max(now) AS at FROM retired GROUP BY grant_id) used
    WHERE g.id = used.grant_id AND (g.last_used_at IS NULL OR g.last_used_at < used.at - ${GRANT_LAST_USED_PRECISION_MS})
  )
  SELECT token_hash AS "tokenHash" FROM retired`;

/** The statement's arguments: one array per column, a rotation per index (a successor is a fresh, unrotated token). */
function rotationColumns(rotations: readonly RefreshRotation[]): unknown[][] {
  const column = <T>(of: (rotation: RefreshRotation) => T) => rotations.map(of);
  return [
    column((r) => r.tokenHash),
    column((r) => r.now),
    column((r) => r.replayResponse),
    column((r) => r.successor?.tokenHash ?? null),
    column((r) => r.successor?.scope ?? null),
    column((r) => r.successor?.createdAt ?? null),
    column((r) => r.successor?.expiresAt ?? null),
  ];
}

async function rotateInOneStatement(db: Db, rotations: RefreshRotation[]): Promise<RotationOutcome[]> {
  // A token twice in one statement would meet itself. Its later rotations lose without a statement of their own:
  // the first one leaves the row rotated (or found it rotated or missing), and a batch stays one atomic statement.
  const firsts = new Map<string, RefreshRotation>();
  for (const rotation of rotations) if (!firsts.has(rotation.tokenHash)) firsts.set(rotation.tokenHash, rotation);
  const first = [...firsts.values()];
  // Two statements in flight at once (two turns' batches, two replicas) lock their rows in the order their joins meet
  // them, so they can deadlock; PostgreSQL then aborts one, which is sent again.
  const columns = rotationColumns(first);
  const retired = new Set((await retriedOnDeadlock(() => db.all<{ tokenHash: string }>(ROTATE_SQL, columns))).map((row) => row.tokenHash));
  return rotations.map((rotation) => (firsts.get(rotation.tokenHash) === rotation && retired.has(rotation.tokenHash) ? 'won' : 'lost'));
}

/** Aliases name the record fields directly (quoted, so PostgreSQL keeps their case): no per-row key mapping. */
const TOKEN_WITH_GRANT_SQL = `SELECT t.token_hash AS "tokenHash", t.grant_id AS "grantId", t.scope AS "scope", t.created_at AS "createdAt",
  t.expires_at AS "expiresAt", t.rotated_at AS "rotatedAt", t.replay_response AS "replayResponse",
  g.user_id AS "grantUserId", g.client_id AS "grantClientId", g.scope AS "grantScope", g.resource AS "grantResource",
  g.created_at AS "grantCreatedAt", g.expires_at AS "grantExpiresAt", g.last_used_at AS "grantLastUsedAt",
  g.revoked_at AS "grantRevokedAt", g.revoked_reason AS "grantRevokedReason"
  FROM refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id`;
// Whole constants: a statement is found by its text, and a text built per call is hashed anew each time (~0.9 µs here).
const TOKEN_WITH_GRANT_BY_HASH_SQL = `${TOKEN_WITH_GRANT_SQL} WHERE t.token_hash = ?`;
const TOKENS_WITH_GRANTS_BY_HASHES_SQL = `${TOKEN_WITH_GRANT_SQL} WHERE t.token_hash = ANY(?::text[])`;

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

type TokenWithGrant = { token: RefreshTokenRecord; grant: GrantRecord };

async function findRefreshTokenWithGrant(db: Db, tokenHash: string): Promise<TokenWithGrant | undefined> {
  const row = await db.get<TokenWithGrantRow>(TOKEN_WITH_GRANT_BY_HASH_SQL, [tokenHash]);
  return row && tokenWithGrant(row);
}

/** PostgreSQL: the lookups of one turn in one statement. */
async function findRefreshTokensWithGrants(db: Db, tokenHashes: string[]): Promise<(TokenWithGrant | undefined)[]> {
  const rows = await db.all<TokenWithGrantRow>(TOKENS_WITH_GRANTS_BY_HASHES_SQL, [tokenHashes]);
  const found = new Map(rows.map((row) => [row.tokenHash, row]));
  // Each caller gets its own copy: callers may hold the records beyond the turn.
  return tokenHashes.map((hash) => {
    const row = found.get(hash);
    return row && tokenWithGrant(row);
  });
}

function tokenWithGrant(row: TokenWithGrantRow): TokenWithGrant {
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
