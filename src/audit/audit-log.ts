import { timeOrderedId } from '../crypto/random.js';
import type { AuditStore } from '../store/index.js';

export type AuditKind =
  | 'client.registered'
  | 'client.updated'
  | 'client.deleted'
  | 'consent.given'
  | 'consent.refused'
  | 'grant.created'
  | 'grant.revoked'
  | 'code.reused'
  | 'refresh.reused'
  | 'upstream.created'
  | 'upstream.updated'
  | 'upstream.deleted'
  | 'upstream.authorized'
  | 'upstream.needs_auth'
  | 'upstream.disconnected'
  | 'tool.definition_changed'
  | 'tool.approved'
  | 'call.approval_requested'
  | 'call.approved'
  | 'call.denied'
  | 'call.approval_expired'
  | 'virtual_server.created'
  | 'virtual_server.updated'
  | 'virtual_server.deleted'
  | 'sso.signed_in'
  | 'sso.refused'
  | 'user.created'
  | 'user.updated'
  | 'user.password_reset'
  | 'user.deleted';

export interface AuditEntry {
  userId?: string | null;
  clientId?: string | null;
  grantId?: string | null;
  ip?: string | null;
  /** Plain facts only: never a token, secret, code or password. */
  detail?: Record<string, unknown>;
}

export interface AuditLog {
  record(kind: AuditKind, entry: AuditEntry): Promise<void>;
}

export function auditLog(store: AuditStore, now: () => number = Date.now): AuditLog {
  return {
    async record(kind, entry) {
      const at = now();
      await store.append({
        id: timeOrderedId('evt', at),
        at,
        kind,
        userId: entry.userId ?? null,
        clientId: entry.clientId ?? null,
        grantId: entry.grantId ?? null,
        ip: entry.ip ?? null,
        detail: JSON.stringify(entry.detail ?? {}),
      });
    },
  };
}
