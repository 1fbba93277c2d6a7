import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { callApprovals } from '../gateway/call-approvals.js';
import { browserSessions, type ResolvedSession, type SessionDependencies } from '../identity/sessions.js';
import { isCrossSiteFormPost } from './browser-guards.js';
import { approvalOutcomePage, callApprovalPage, type ApprovalPageOutcome } from './call-approval-pages.js';
import { messagePage } from './login-pages.js';
import { pageErrorHandler } from './page-errors.js';
import { sendPage } from './page.js';
import { csrfMatches, csrfTokenFor } from './session-csrf.js';
import type { Clock } from '../clock.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { OpenedStore } from '../store/index.js';

const CSRF_PURPOSE = 'call-approval';
const params = z.object({ id: z.string().min(1).max(64) });
const decisionForm = z.object({ decision: z.enum(['approve', 'deny']) });

/** What the approval page uses: the held calls, sessions, the form's CSRF key, the audit, the clock. */
export interface CallApprovalRouteDeps extends SessionDependencies {
  config: Pick<Config, 'publicUrl' | 'approvals' | 'audit' | 'sessions' | 'secureCookies'>;
  store: Pick<OpenedStore, 'users' | 'sessions' | 'callApprovals'>;
  keys: Pick<KeyRing, 'tokenHasher' | 'cookieKey'>;
  audit: AuditLog;
  clock: Clock;
}

/**
 * `GET /approve/{id}`: the page where the person whose tool call is held sees it and decides; `POST /approve/{id}`:
 * the decision. Any replica serves both (the approval is in the store). Only that person, signed in, may decide.
 */
export const callApprovalRoutes: FastifyPluginAsync<{ deps: CallApprovalRouteDeps }> = async (app, { deps }) => {
  const sessions = browserSessions(deps, deps.clock);
  const approvals = callApprovals({ store: deps.store.callApprovals, audit: deps.audit, hasher: deps.keys.tokenHasher, config: deps.config, now: deps.clock });
  const ownOrigin = new URL(deps.config.publicUrl).origin;
  const send = (reply: FastifyReply, outcome: ApprovalPageOutcome) => {
    const { status, page } = approvalOutcomePage(outcome);
    return sendPage(reply, status, page);
  };

  /** Step: the signed-in session, or undefined after sending the browser to sign in and come back to this page. */
  async function requireSession(request: FastifyRequest, reply: FastifyReply, id: string): Promise<ResolvedSession | undefined> {
    const resolved = await sessions.resolve(request.cookies[sessions.cookieName]);
    if (!resolved) reply.redirect(`/login?next=${encodeURIComponent(`/approve/${id}`)}`, 303);
    return resolved;
  }

  app.get('/approve/:id', async (request, reply) => {
    const parsed = params.safeParse(request.params);
    if (!parsed.success) return send(reply, 'unknown');
    const { id } = parsed.data;
    const resolved = await requireSession(request, reply, id);
    if (!resolved) return reply;
    const approval = await approvals.find(id);
    if (!approval) return send(reply, 'unknown');
    if (approval.userId !== resolved.user.id) return send(reply, 'other_user');
    if (approval.status !== 'pending') return send(reply, 'already_decided');
    const msLeft = approval.expiresAt - deps.clock();
    if (msLeft <= 0) return send(reply, 'expired');
    const csrfToken = csrfTokenFor(resolved, deps.keys.cookieKey, CSRF_PURPOSE);
    return sendPage(reply, 200, callApprovalPage({ approval, username: resolved.user.username, csrfToken, minutesLeft: Math.ceil(msLeft / 60_000) }));
  });

  app.post('/approve/:id', async (request, reply) => {
    const refused = (text: string) => sendPage(reply, 403, messagePage({ title: 'Request refused', text }));
    if (isCrossSiteFormPost(request.headers, ownOrigin)) return refused('This form was sent from another site. Open the approval link directly and try again.');
    const parsed = params.safeParse(request.params);
    if (!parsed.success) return send(reply, 'unknown');
    const resolved = await requireSession(request, reply, parsed.data.id);
    if (!resolved) return reply;
    if (!csrfMatches(request.body, resolved, deps.keys.cookieKey, CSRF_PURPOSE)) return refused('This form is out of date. Open the approval link again.');
    const form = decisionForm.safeParse(request.body);
    if (!form.success) return sendPage(reply, 400, messagePage({ title: 'Bad request', text: 'The form was incomplete. Open the approval link again.' }));
    return send(reply, await approvals.decide(parsed.data.id, resolved.user.id, form.data.decision === 'approve', request.ip));
  });

  app.setErrorHandler(pageErrorHandler('call approval route', { retry: 'Open the approval link again.' }));
};
