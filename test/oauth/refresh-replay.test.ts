import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DecryptionError, seal } from '../../src/crypto/aead.js';
import { hasTokenShape, issueTimeOf, issueToken } from '../../src/crypto/random.js';
import { replayCopy, replayedResponse, replaySecrets } from '../../src/oauth/refresh-replay.js';
import type { GrantDeps } from '../../src/oauth/token-response.js';
import type { GrantRecord } from '../../src/store/index.js';

const key = randomBytes(32);
const presented = issueToken('refreshToken', Date.parse('2030-01-01T00:00:00Z'));
const rotatedAt = Date.parse('2030-01-01T00:05:00Z');

describe('refresh replay secrets', () => {
  it('are the same for the same key, token and time, and a refresh token carrying that time', () => {
    const secrets = replaySecrets(key, presented, rotatedAt);
    assert.deepEqual(replaySecrets(Buffer.from(key), presented, rotatedAt), secrets);
    assert.ok(hasTokenShape(secrets.refreshToken, 'refreshToken'));
    assert.equal(Number.parseInt(issueTimeOf(secrets.refreshToken, 'refreshToken')!, 16), rotatedAt);
    assert.match(secrets.jti, /^at_[A-Za-z0-9_-]{22}$/);
  });

  it('differ under another key or for another token: an old token alone, without the key, yields nothing', () => {
    const secrets = replaySecrets(key, presented, rotatedAt);
    for (const other of [replaySecrets(randomBytes(32), presented, rotatedAt), replaySecrets(key, issueToken('refreshToken', rotatedAt), rotatedAt)]) {
      assert.notEqual(other.refreshToken, secrets.refreshToken);
      assert.notEqual(other.jti, secrets.jti);
    }
  });
});

describe('refresh replay copy', () => {
  const grant: GrantRecord = {
    id: 'grt_1', userId: 'usr_1', clientId: 'cli_1', scope: 'mcp:read', resource: 'https://gate.example/mcp',
    createdAt: 0, expiresAt: rotatedAt * 2, lastUsedAt: null, revokedAt: null, revokedReason: null,
  };
  const rebuilt: unknown[] = [];
  const deps = {
    keys: { refreshReplayKey: key, encryptionKey: randomBytes(32) },
    accessTokens: { rebuild: (...args: unknown[]) => (rebuilt.push(args), 'the.rebuilt.token') },
  } as unknown as Pick<GrantDeps, 'keys' | 'accessTokens'>;

  it('holds the access token copy and scope, and rebuilds the answer from them and the presented token', () => {
    const copy = replayCopy({ kid: 'k-1_x', iat: 100, exp: 700, signature: 'c2ln' }, 'mcp:read a.b');
    const answer = replayedResponse(deps, { tokenHash: 'h', rotatedAt, replayResponse: copy }, grant, presented);
    const secrets = replaySecrets(key, presented, rotatedAt);
    assert.equal(answer, JSON.stringify({ access_token: 'the.rebuilt.token', token_type: 'Bearer', expires_in: 600, scope: 'mcp:read a.b', refresh_token: secrets.refreshToken }));
    assert.deepEqual(rebuilt.at(-1), [
      { grantId: 'grt_1', userId: 'usr_1', clientId: 'cli_1', scope: 'mcp:read a.b', resource: 'https://gate.example/mcp' },
      secrets.jti,
      { kid: 'k-1_x', iat: 100, exp: 700, signature: 'c2ln' },
    ]);
  });

  it('a copy it cannot read is an error of the server, not a replay: a short one, or one neither rebuilt nor sealed under its key', () => {
    assert.throws(() => replayedResponse(deps, { tokenHash: 'h', rotatedAt, replayResponse: 'r2.k.1.2' }, grant, presented), /unreadable refresh replay copy/);
    for (const copy of ['r3.k.1.2.sig.mcp', 'garbage', seal(randomBytes(32), 'an answer', 'refresh-replay:h')]) {
      assert.throws(() => replayedResponse(deps, { tokenHash: 'h', rotatedAt, replayResponse: copy }, grant, presented), DecryptionError);
    }
  });
});
