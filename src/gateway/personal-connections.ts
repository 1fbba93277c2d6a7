import { randomUUID } from 'node:crypto';
import { NeedsSignIn } from '../sso/upstream-token-exchange.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import { NeedsAuthorization } from '../upstream/oauth/token-vault.js';
import { OAuthSetupError } from '../upstream/oauth/types.js';
import type { PerUserPool } from '../upstream/per-user-pool.js';
import { connectsPerUser, type Upstream } from '../upstream/types.js';
import { fetchAllPages, type ListKind, type Listed } from './catalog.js';
import type { BrowserPrompt } from './browser-prompts.js';
import { availabilityOf, type UpstreamAvailability } from './forwarding.js';
import type { Principal } from './principal.js';

/**
 * Which connection a principal's request goes through. Most upstreams have one for everybody; a per-user
 * upstream is called with the principal's own upstream account, from the per-user pool. A user who has not
 * connected that account yet is asked to: by URL-mode elicitation when the client supports it, else by a
 * tool result that holds the link. The link is bound to this user: nobody else can complete it.
 */

export interface ConnectPrompt {
  url: string;
  elicitationId: string;
  /** Set for a `token_exchange` upstream: the company sign-in (by its name) the user must do again, at `url`. */
  signInWith?: string;
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 300);

/** What the functions below use: outbound OAuth (to ask a user to connect) and the per-user pool. */
export interface PersonalConnections {
  outbound: Pick<OutboundOAuth, 'startFlow' | 'connectLink'>;
  perUserPool: Pick<PerUserPool, 'clientFor'>;
}

// Plain functions of (personal, principal) rather than a per-session object of closures: an idle MCP session holds
// nothing for them.

async function prompt(personal: PersonalConnections, principal: Pick<Principal, 'userId'>, upstream: Upstream): Promise<ConnectPrompt | { unavailable: string }> {
  try {
    const flow = await personal.outbound.startFlow(upstream.id, 'per_user', principal.userId, { reuseDiscovery: true });
    return { url: personal.outbound.connectLink(flow.flowId), elicitationId: flow.flowId };
  } catch (error) {
    if (error instanceof OAuthSetupError) return { unavailable: `its authorization cannot be started: ${error.message}` };
    throw error;
  }
}

/** The connection a tool call of `principal` to `upstream` goes through, or the prompt to connect their own account first. */
export async function connectionFor(personal: PersonalConnections, principal: Pick<Principal, 'userId'>, upstream: Upstream): Promise<UpstreamAvailability | { connect: ConnectPrompt }> {
  if (!connectsPerUser(upstream.settings)) return availabilityOf(upstream);
  try {
    return { client: await personal.perUserPool.clientFor(upstream, principal.userId) };
  } catch (error) {
    if (error instanceof NeedsSignIn) return { connect: { url: error.signInUrl, elicitationId: randomUUID(), signInWith: error.providerName } };
    if (!(error instanceof NeedsAuthorization) || upstream.settings.auth_type === 'token_exchange') return { unavailable: reasonOf(error) };
    const connect = await prompt(personal, principal, upstream);
    return 'unavailable' in connect ? connect : { connect };
  }
}

/** For requests other than tool calls (reads, prompts, completions): a missing connection is an unavailable upstream. */
export async function requestConnection(personal: PersonalConnections, principal: Pick<Principal, 'userId'>, upstream: Upstream): Promise<UpstreamAvailability> {
  const connection = await connectionFor(personal, principal, upstream);
  if (!('connect' in connection)) return connection;
  const { url, signInWith } = connection.connect;
  return { unavailable: signInWith ? `you need to sign in again with ${signInWith}; open ${url}` : `you have not connected your account yet; open ${url} to connect it` };
}

/** `kind` as the principal's own connection lists it; nothing when they have none (or it fails, which is logged). */
export async function listOwn<K extends ListKind>(
  personal: PersonalConnections,
  principal: Pick<Principal, 'userId'>,
  upstream: Upstream,
  kind: K,
  logger: { warn(details: object, message: string): void },
): Promise<{ upstream: Upstream; listed: Listed<K> } | undefined> {
  try {
    // The pool, not connectionFor: a listing must not start a connect flow for every user who has none.
    const client = await personal.perUserPool.clientFor(upstream, principal.userId);
    return { upstream, listed: await fetchAllPages(upstream, client, kind) };
  } catch (error) {
    if (!(error instanceof NeedsAuthorization)) logger.warn({ upstream: upstream.settings.name, kind, error: reasonOf(error) }, 'listing a per-user upstream failed');
    return undefined;
  }
}

/** What a tool call whose user must connect the upstream first asks them in a browser. */
export function connectPrompt(upstream: Upstream, connect: ConnectPrompt): BrowserPrompt {
  const name = upstream.settings.name;
  const { url, elicitationId } = connect;
  return connect.signInWith
    ? {
        message: `Upstream "${name}" needs you to sign in again with ${connect.signInWith}.`,
        url,
        elicitationId,
        instructions: `sign in with ${connect.signInWith}, then call the tool again.`,
        upstreamId: upstream.id,
      }
    : {
        message: `Upstream "${name}" needs you to connect your own account to it.`,
        url,
        elicitationId,
        instructions: `sign in to Gatehouse and approve access at "${name}", then call the tool again.`,
        upstreamId: upstream.id,
      };
}
