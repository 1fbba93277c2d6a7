import { issueToken, newId } from '../../src/crypto/random.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import type { TestApp } from '../helpers/app.js';
import { adminUserId, type TestClient } from './token-fixtures.js';

export interface MintedTokens {
  grantId: string;
  refreshToken: string;
  accessToken: string;
}

/** A live grant with a refresh token and an access token, written as the token endpoint would (only hashes stored). */
export async function mintTokens(t: TestApp, client: TestClient, options: { userId?: string; scope?: string; resource?: string } = {}): Promise<MintedTokens> {
  const now = Date.now();
  const userId = options.userId ?? (await adminUserId(t));
  const scope = options.scope ?? 'mcp:read mcp:write';
  const resource = options.resource ?? gatewayResource(t.config.publicUrl);
  const grantId = newId('grt');
  await t.runtime.store.grants.create({
    id: grantId,
    userId,
    clientId: client.clientId,
    scope,
    resource,
    createdAt: now,
    expiresAt: now + 3_600_000,
    lastUsedAt: null,
    revokedAt: null,
    revokedReason: null,
  });
  const refreshToken = issueToken('refreshToken');
  await t.runtime.store.refreshTokens.create({
    tokenHash: t.runtime.keys.tokenHasher.hash(refreshToken),
    grantId,
    scope,
    createdAt: now,
    expiresAt: now + 3_600_000,
    rotatedAt: null,
    replayResponse: null,
  });
  const { token: accessToken } = await t.runtime.accessTokens.issue({ grantId, userId, clientId: client.clientId, scope, resource });
  return { grantId, refreshToken, accessToken };
}

export function postForm(t: TestApp, url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}
