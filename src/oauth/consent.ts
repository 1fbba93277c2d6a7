import type { AuditLog } from '../audit/audit-log.js';
import type { AuthorizationFlowRecord, ConsentStore } from '../store/index.js';
import { authorizationResponseUrl, errorResponseUrl } from './authorization-request.js';
import { OAuthError } from './errors.js';
import type { GrantService } from './grants.js';
import { formatScope, parseScope, scopesCover } from './scopes.js';

/** Consent a user gave a client for a resource, remembered so the next sign-in with the same request skips the page. */
export interface ConsentMemory {
  /** True when the remembered consent holds every requested scope. */
  covers(userId: string, clientId: string, resource: string, scope: string): Promise<boolean>;
  /** Remembers the scopes, added to any remembered before (consent only grows until it is revoked). */
  remember(userId: string, clientId: string, resource: string, scope: string): Promise<void>;
}

export function consentMemory(store: ConsentStore, now: () => number = Date.now): ConsentMemory {
  return {
    async covers(userId, clientId, resource, scope) {
      const remembered = await store.find(userId, clientId, resource);
      return remembered !== undefined && scopesCover(remembered.scope, parseScope(scope));
    },
    async remember(userId, clientId, resource, scope) {
      const previous = await store.find(userId, clientId, resource);
      const union = formatScope([...parseScope(previous?.scope), ...parseScope(scope)]);
      await store.save({ userId, clientId, resource, scope: union, grantedAt: now() });
    },
  };
}

/** The consent page may be skipped: consent remembered for all of it, and the client did not ask to prompt. */
export async function consentAlreadyGiven(memory: ConsentMemory, flow: AuthorizationFlowRecord, userId: string): Promise<boolean> {
  if (parseScope(flow.prompt).includes('consent')) return false;
  return memory.covers(userId, flow.clientId, flow.resource, flow.scope);
}

export interface ConsentDecisionDeps {
  memory: ConsentMemory;
  grants: GrantService;
  audit: AuditLog;
  issuer: string;
}

export interface ConsentDecision {
  flow: AuthorizationFlowRecord;
  userId: string;
  approve: boolean;
  ip: string | null;
  /** True when no page was shown because consent was remembered. */
  remembered?: boolean;
}

/**
 * Acts on a completed flow: a refusal is recorded and answered with `access_denied`; an approval is
 * remembered, recorded, and answered with a one-time code. Returns where to send the browser.
 */
export async function decideConsent(deps: ConsentDecisionDeps, decision: ConsentDecision): Promise<string> {
  const { flow, userId, ip } = decision;
  const who = { userId, clientId: flow.clientId, ip };
  if (!decision.approve) {
    await deps.audit.record('consent.refused', { ...who, detail: { scope: flow.scope, resource: flow.resource } });
    const refusal = new OAuthError('access_denied', 'the user refused access');
    return errorResponseUrl(flow.redirectUri, refusal, flow.state, deps.issuer);
  }
  await deps.memory.remember(userId, flow.clientId, flow.resource, flow.scope);
  await deps.audit.record('consent.given', { ...who, detail: { scope: flow.scope, resource: flow.resource, remembered: decision.remembered === true } });
  const code = await deps.grants.issueAuthorizationCode({
    userId,
    clientId: flow.clientId,
    scope: flow.scope,
    resource: flow.resource,
    redirectUri: flow.redirectUri,
    codeChallenge: flow.codeChallenge,
    ip,
  });
  return authorizationResponseUrl(flow.redirectUri, { code, state: flow.state, iss: deps.issuer });
}
