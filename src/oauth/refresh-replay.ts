import { createHmac } from 'node:crypto';
import { open } from '../crypto/aead.js';
import { tokenFromSecret } from '../crypto/random.js';
import type { GrantRecord, RefreshTokenRecord } from '../store/index.js';
import type { AccessTokenCopy } from './access-tokens.js';
import { accessTokenRequest, tokenResponseJson, type GrantDeps } from './token-response.js';

/**
 * A rotated refresh token presented again inside the grace window gets the answer it got, byte for byte. That answer
 * holds two secrets, the successor refresh token and the access token's `jti`: both are derived from the presented
 * token under a key of the master key's, so the retry, which presents the same token, derives them again, and the
 * rotated row keeps only what is no credential without them (the access token's key id, times, scope and signature).
 * Neither a copy of the database nor an old token alone yields them. Sealing the whole answer for every rotation cost
 * the refresh grant about a tenth of its rate (bench/README.md).
 */
export interface ReplaySecrets {
  refreshToken: string;
  jti: string;
}

/**
 * HMAC-SHA-512 of the presented token: its first 32 bytes the successor's secret (issued at `rotatedAt`, as every
 * refresh token carries its issue time), the next 16 the jti's, as many as a random one's.
 */
export function replaySecrets(key: Buffer, presented: string, rotatedAt: number): ReplaySecrets {
  const digest = createHmac('sha512', key).update(presented).digest();
  return { refreshToken: tokenFromSecret('refreshToken', digest, rotatedAt), jti: `at_${digest.toString('base64url', 32, 48)}` };
}

const COPY_VERSION = 'r2';

/** The rotated row's replay copy: the access token's copy and scope, dot-separated (base64url and digits have no dots), scope last. */
export function replayCopy(accessToken: AccessTokenCopy, scope: string): string {
  return `${COPY_VERSION}.${accessToken.kid}.${accessToken.iat}.${accessToken.exp}.${accessToken.signature}.${scope}`;
}

/** The answer the rotation of `record` gave, rebuilt for `presented` (the token that rotation retired). */
export function replayedResponse(
  deps: Pick<GrantDeps, 'keys' | 'accessTokens'>,
  record: Pick<RefreshTokenRecord, 'tokenHash'> & { rotatedAt: number; replayResponse: string },
  grant: GrantRecord,
  presented: string,
): string {
  const copy = record.replayResponse;
  // Anything else is what versions before this one stored: the whole answer, sealed, read back during an upgrade.
  if (!copy.startsWith(`${COPY_VERSION}.`)) return open(deps.keys.encryptionKey, copy, `refresh-replay:${record.tokenHash}`);
  const [version, kid, iat, exp, signature, ...scopeParts] = copy.split('.');
  if (version !== COPY_VERSION || signature === undefined || scopeParts.length === 0) throw new Error('unreadable refresh replay copy');
  const scope = scopeParts.join('.');
  const secrets = replaySecrets(deps.keys.refreshReplayKey, presented, record.rotatedAt);
  const accessToken = { kid: kid!, iat: Number(iat), exp: Number(exp), signature };
  const rebuilt = deps.accessTokens.rebuild(accessTokenRequest(grant, scope), secrets.jti, accessToken);
  return tokenResponseJson(rebuilt, accessToken.exp - accessToken.iat, scope, secrets.refreshToken);
}
