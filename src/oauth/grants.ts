import type { AuditLog } from '../audit/audit-log.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { issueToken, newId } from '../crypto/random.js';
import type { Config } from '../config.js';
import type { OpenedStore } from '../store/index.js';

export interface GrantRequest {
  userId: string;
  clientId: string;
  scope: string;
  resource: string;
  redirectUri: string;
  codeChallenge: string;
  ip: string | null;
}

/** The life of a grant that both the authorization and the token endpoint touch. */
export interface GrantService {
  /** After consent: records the grant and returns a one-time authorization code for it (only its hash is kept). */
  issueAuthorizationCode(request: GrantRequest): Promise<string>;
  /** Revokes a grant; every code, refresh token and access token of it stops working at once. */
  revoke(grantId: string, reason: string, by: { userId?: string | null; ip?: string | null }): Promise<boolean>;
}

export function grantService(
  deps: { store: OpenedStore; keys: KeyRing; config: Config; audit: AuditLog },
  now: () => number = Date.now,
): GrantService {
  const { store, keys, config, audit } = deps;
  return {
    async issueAuthorizationCode(request) {
      const at = now();
      const grantId = newId('grt');
      await store.grants.create({
        id: grantId,
        userId: request.userId,
        clientId: request.clientId,
        scope: request.scope,
        resource: request.resource,
        createdAt: at,
        expiresAt: at + config.oauth.refreshTokenAbsoluteSeconds * 1000,
        lastUsedAt: null,
        revokedAt: null,
        revokedReason: null,
      });
      const code = issueToken('authorizationCode');
      await store.codes.create({
        codeHash: keys.tokenHasher.hash(code),
        grantId,
        clientId: request.clientId,
        redirectUri: request.redirectUri,
        codeChallenge: request.codeChallenge,
        scope: request.scope,
        resource: request.resource,
        createdAt: at,
        expiresAt: at + config.oauth.authorizationCodeTtlSeconds * 1000,
        usedAt: null,
      });
      await audit.record('grant.created', {
        userId: request.userId,
        clientId: request.clientId,
        grantId,
        ip: request.ip,
        detail: { scope: request.scope, resource: request.resource },
      });
      return code;
    },
    async revoke(grantId, reason, by) {
      const grant = await store.grants.find(grantId);
      const revoked = await store.grants.revoke(grantId, reason, now());
      if (revoked && grant) {
        await audit.record('grant.revoked', { userId: grant.userId, clientId: grant.clientId, grantId, ip: by.ip, detail: { reason, by: by.userId ?? null } });
      }
      return revoked;
    },
  };
}
