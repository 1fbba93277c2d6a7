import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { browserSessions, type SessionDependencies } from '../identity/sessions.js';
import { pendingSignIns, type PendingSignIn } from '../sso/pending-sign-ins.js';
import { provisionUser } from '../sso/provisioning.js';
import type { IdentityClaims, RelyingParty } from '../sso/relying-party.js';
import { SsoSignInError } from '../sso/sign-in-errors.js';
import { safeLocalPath } from './browser-guards.js';
import { ssoFailurePage } from './oidc-login-pages.js';
import { pageErrorHandler } from './page-errors.js';
import { sendPage } from './page.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { SsoServices } from '../sso/sso-services.js';
import type { OpenedStore } from '../store/index.js';

const startQuery = z.object({ next: z.string().optional() });
const providerParams = z.object({ id: z.string() });

/** What company sign-in uses: the relying parties, pending sign-ins, users, sessions, IdP tokens, the audit, the clock. */
export interface OidcLoginDeps extends SessionDependencies {
  config: Pick<Config, 'publicUrl' | 'sessions' | 'secureCookies'>;
  store: Pick<OpenedStore, 'users' | 'sessions' | 'ssoSignIns'>;
  keys: Pick<KeyRing, 'tokenHasher' | 'encryptionKey'>;
  sso: Pick<SsoServices, 'parties' | 'identityTokens'>;
  audit: AuditLog;
  clock: Clock;
}

/**
 * Company sign-in: `GET /login/oidc/{id}` sends the browser to the IdP, `GET /login/oidc/{id}/callback` brings it
 * back, signed in as the user keyed by the IdP's (issuer, sub). A failure at any step is a page that says whose
 * mistake it was; nothing is created before every check has passed.
 */
export const oidcLoginRoutes: FastifyPluginAsync<{ deps: OidcLoginDeps }> = async (app, { deps }) => {
  const { config } = deps;
  const { parties } = deps.sso;
  const sessions = browserSessions(deps, deps.clock);
  const pending = pendingSignIns(deps, deps.clock);

  /** Step: the configured provider named in the path. */
  function providerOf(request: FastifyRequest): RelyingParty {
    const party = parties.get(providerParams.parse(request.params).id);
    if (!party) throw new SsoSignInError('unknown_provider', 'no such provider id');
    return party;
  }

  /** Step: this browser's pending sign-in, taken once, and for this provider. */
  async function takePending(request: FastifyRequest, reply: FastifyReply, party: RelyingParty): Promise<PendingSignIn> {
    const signIn = await pending.take(request, reply);
    if (!signIn) throw new SsoSignInError('no_pending_sign_in', 'no live sign-in for this browser');
    if (signIn.providerId !== party.provider.id) throw new SsoSignInError('invalid_response', `callback of ${party.provider.id} for a sign-in at ${signIn.providerId}`);
    return signIn;
  }

  /**
   * Step: the refusal in the audit (`sso.refused`), beside the security events of the authorization server. A path
   * naming no configured provider is left out: it is noise anyone can make, and no provider was involved.
   */
  async function auditRefusal(request: FastifyRequest, error: SsoSignInError, claims: IdentityClaims | undefined): Promise<void> {
    if (error.kind === 'unknown_provider') return;
    const provider = providerParams.parse(request.params).id;
    const who = claims ? { issuer: claims.iss, subject: claims.sub } : {};
    await deps.audit.record('sso.refused', { ip: request.ip, detail: { provider, reason: error.kind, check: error.detail, ...who } });
  }

  async function fail(request: FastifyRequest, reply: FastifyReply, error: unknown, next: string | undefined, claims?: IdentityClaims): Promise<FastifyReply> {
    if (!(error instanceof SsoSignInError)) throw error;
    request.log.warn({ sso: { kind: error.kind, detail: error.detail } }, 'company sign-in failed');
    await auditRefusal(request, error, claims);
    const { status, page } = ssoFailurePage(error.kind, next);
    return sendPage(reply, status, page);
  }

  app.get('/login/oidc/:id', async (request, reply) => {
    const next = safeLocalPath(startQuery.safeParse(request.query).data?.next);
    try {
      const party = providerOf(request);
      const signIn = await pending.begin(reply, party.provider.id, next);
      return reply.redirect((await party.authorizationUrl(signIn)).href, 303);
    } catch (error) {
      return fail(request, reply, error, next);
    }
  });

  app.get('/login/oidc/:id/callback', async (request, reply) => {
    let next: string | undefined;
    let claims: IdentityClaims | undefined;
    try {
      const party = providerOf(request);
      const signIn = await takePending(request, reply, party);
      next = signIn.next;
      const redeemed = await party.redeem(new URL(request.url, config.publicUrl), signIn);
      claims = redeemed.claims;
      const user = await provisionUser(deps.store.users, party.provider, claims);
      // The subject of token exchanges toward upstreams that trust this IdP (sealed).
      await deps.sso.identityTokens.keep(user.id, party.provider.id, redeemed.tokens);
      await sessions.startSession(request, reply, user);
      await deps.audit.record('sso.signed_in', {
        userId: user.id,
        ip: request.ip,
        detail: { provider: party.provider.id, issuer: claims.iss, subject: claims.sub, groups: user.groups, is_admin: user.isAdmin },
      });
      return reply.redirect(next ?? '/', 303);
    } catch (error) {
      return fail(request, reply, error, next, claims);
    }
  });

  app.setErrorHandler(pageErrorHandler('company sign-in route', { retry: 'Start again from the sign-in page.', link: { href: '/login', label: 'Go to sign-in' } }));
};
