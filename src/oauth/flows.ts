import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { secretsEqual } from '../crypto/keyed-hash.js';
import { hasTokenShape, issueToken, newId } from '../crypto/random.js';
import type { AuthorizationFlowRecord, AuthorizationFlowStore } from '../store/index.js';
import type { AuthorizationRequest } from './authorization-request.js';

/**
 * A pending flow the browser may continue: live, and opened by this browser. `csrfToken` is the raw token
 * the consent form must carry; the store keeps only its hash, so it travels in the HttpOnly flow cookie.
 */
export interface OpenFlow {
  flow: AuthorizationFlowRecord;
  csrfToken: string;
}

/** Why a flow cannot continue: gone (missing, expired, completed) or opened by another browser. */
export type FlowRefusal = 'expired' | 'foreign';

export interface PendingFlows {
  /** Stores the flow for the validated request and sets its cookie; returns the flow id. */
  start(request: AuthorizationRequest, reply: FastifyReply): Promise<string>;
  /** The live flow this browser started, or why not. */
  open(flowId: string, request: FastifyRequest): Promise<OpenFlow | FlowRefusal>;
  /** Constant-time check of the form's CSRF token against the stored hash. */
  csrfMatches(flow: AuthorizationFlowRecord, presented: string | undefined): boolean;
  /**
   * Proof that `userId` approved the flow while leaving its completion for later (the person first connects
   * upstream accounts): a keyed hash of the flow, its CSRF hash and the user, so it needs no storage and is
   * worthless to another flow, another browser's flow or another user. The flow stays single-use through `complete`.
   */
  approvalToken(flow: AuthorizationFlowRecord, userId: string): string;
  approvalMatches(flow: AuthorizationFlowRecord, userId: string, presented: string | undefined): boolean;
  /** Compare-and-set: true only for the first completion of a live flow (a replayed form gets false). */
  complete(flowId: string): Promise<boolean>;
  clearCookie(flowId: string, reply: FastifyReply): void;
}

export interface FlowDependencies {
  config: Pick<Config, 'secureCookies' | 'oauth'>;
  store: { flows: AuthorizationFlowStore };
  keys: Pick<KeyRing, 'tokenHasher'>;
}

/**
 * One cookie per flow, so two tabs with two flows both work. `__Host-` over https pins it to this host
 * (Secure, Path=/, no Domain).
 */
export function flowCookieName(flowId: string, secureCookies: boolean): string {
  return `${secureCookies ? '__Host-' : ''}gatehouse_flow_${flowId}`;
}

const FLOW_ID = /^flow_[A-Za-z0-9_-]{22}$/;

/** The cookie holds `<flow secret>.<csrf token>`; `.` is outside both tokens' alphabets. */
function parseCookie(value: string | undefined): { flowSecret: string; csrfToken: string } | undefined {
  const [flowSecret, csrfToken, extra] = (value ?? '').split('.');
  if (extra !== undefined || !flowSecret || !csrfToken) return undefined;
  if (!hasTokenShape(flowSecret, 'flowSecret') || !hasTokenShape(csrfToken, 'csrfToken')) return undefined;
  return { flowSecret, csrfToken };
}

export function pendingFlows({ config, store, keys }: FlowDependencies, now: () => number = Date.now): PendingFlows {
  const ttlSeconds = config.oauth.flowTtlSeconds;
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secureCookies } as const;
  const matchesHash = (secret: string, storedHash: string) =>
    keys.tokenHasher.candidates(secret).some((candidate) => secretsEqual(candidate, storedHash));
  const approval = (flow: AuthorizationFlowRecord, userId: string) => `consent approved\0${flow.id}\0${flow.csrfHash}\0${userId}`;

  return {
    async start(request, reply) {
      const id = newId('flow');
      const flowSecret = issueToken('flowSecret');
      const csrfToken = issueToken('csrfToken');
      const at = now();
      await store.flows.create({
        id,
        browserHash: keys.tokenHasher.hash(flowSecret),
        csrfHash: keys.tokenHasher.hash(csrfToken),
        clientId: request.client.clientId,
        redirectUri: request.redirectUri,
        scope: request.scope,
        resource: request.resource,
        state: request.state,
        codeChallenge: request.codeChallenge,
        prompt: request.prompt,
        createdAt: at,
        expiresAt: at + ttlSeconds * 1000,
        completedAt: null,
      });
      reply.setCookie(flowCookieName(id, config.secureCookies), `${flowSecret}.${csrfToken}`, { ...cookieOptions, maxAge: ttlSeconds });
      return id;
    },
    async open(flowId, request) {
      if (!FLOW_ID.test(flowId)) return 'expired';
      const flow = await store.flows.find(flowId);
      if (!flow || flow.completedAt !== null || flow.expiresAt <= now()) return 'expired';
      const cookie = parseCookie(request.cookies[flowCookieName(flowId, config.secureCookies)]);
      if (!cookie || !matchesHash(cookie.flowSecret, flow.browserHash) || !matchesHash(cookie.csrfToken, flow.csrfHash)) return 'foreign';
      return { flow, csrfToken: cookie.csrfToken };
    },
    csrfMatches(flow, presented) {
      return presented !== undefined && hasTokenShape(presented, 'csrfToken') && matchesHash(presented, flow.csrfHash);
    },
    approvalToken(flow, userId) {
      return keys.tokenHasher.hash(approval(flow, userId));
    },
    approvalMatches(flow, userId, presented) {
      return presented !== undefined && matchesHash(approval(flow, userId), presented);
    },
    complete(flowId) {
      return store.flows.complete(flowId, now());
    },
    clearCookie(flowId, reply) {
      reply.clearCookie(flowCookieName(flowId, config.secureCookies), cookieOptions);
    },
  };
}
