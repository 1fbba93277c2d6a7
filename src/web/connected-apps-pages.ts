import { scopeInWords } from './client-labels.js';
import { html, type SafeHtml } from './html.js';
import { messagePage } from './login-pages.js';
import { layout } from './page.js';

export interface ConnectedGrant {
  id: string;
  scopes: string[];
  authorizedAt: number;
  lastUsedAt: number | null;
}

/** One application and every live grant the person gave it. */
export interface ConnectedApp {
  name: string;
  /** The host of a Client ID Metadata Document; absent for dynamically registered clients, whose name is unverified. */
  verifiedDomain?: string;
  grants: ConnectedGrant[];
}

/** A per-user upstream and this person's connection to it. */
export interface UpstreamAccountView {
  id: string;
  name: string;
  state: 'active' | 'needs_auth' | 'none';
  /** Why it needs reconnecting, for `needs_auth`. */
  reason?: string;
  /** False when the person still holds tokens for an upstream they may no longer use: they can only disconnect. */
  connectable: boolean;
}

export interface ConnectedAppsPageInput {
  username: string;
  apps: ConnectedApp[];
  /** Omitted from the page when empty (no per-user upstream concerns this person). */
  upstreams?: UpstreamAccountView[];
  csrfToken: string;
  /** Set right after a revocation or a disconnection, so the person sees it took effect. */
  notice?: 'revoked' | 'disconnected';
}

/** "2026-08-01 14:03 UTC", in a `<time>` element carrying the exact instant. */
function when(at: number): SafeHtml {
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

function grantItem(grant: ConnectedGrant, csrfToken: string): SafeHtml {
  return html`<li>
<p>Can:</p>
<ul>
${grant.scopes.map((scope) => html`<li>${scopeInWords(scope)}</li>\n`)}</ul>
<p>Authorized ${when(grant.authorizedAt)}. ${grant.lastUsedAt === null ? 'Not used yet.' : html`Last used ${when(grant.lastUsedAt)}.`}</p>
<form method="post" action="/account/apps/revoke">
<input type="hidden" name="grant_id" value="${grant.id}">
<input type="hidden" name="csrf_token" value="${csrfToken}">
<button type="submit" class="secondary">Revoke access</button>
</form>
</li>
`;
}

function appSection(app: ConnectedApp, csrfToken: string): SafeHtml {
  return html`<section class="connected-app">
<h2>${app.name}</h2>
${app.verifiedDomain
  ? html`<p>Verified domain: <strong>${app.verifiedDomain}</strong></p>`
  : html`<p class="notice" role="note"><strong>Unverified application.</strong> This name was chosen by the application itself.</p>`}
<ul>
${app.grants.map((grant) => grantItem(grant, csrfToken))}</ul>
</section>
`;
}

function connectionState(connection: UpstreamAccountView): SafeHtml {
  if (!connection.connectable) return html`<p>No longer available to you. Gatehouse still holds your tokens for it until you disconnect.</p>`;
  if (connection.state === 'active') return html`<p><strong>Connected.</strong></p>`;
  if (connection.state === 'needs_auth') return html`<p class="alert" role="note"><strong>Needs reconnecting:</strong> ${connection.reason ?? 'authorize again'}</p>`;
  return html`<p>Not connected.</p>`;
}

function upstreamForm(action: 'connect' | 'disconnect', connection: UpstreamAccountView, csrfToken: string, label: string, primary: boolean): SafeHtml {
  return html`<form method="post" action="/account/upstreams/${action}">
<input type="hidden" name="upstream_id" value="${connection.id}">
<input type="hidden" name="csrf_token" value="${csrfToken}">
<button type="submit"${primary ? '' : html` class="secondary"`}>${label}</button>
</form>
`;
}

function connectionItem(connection: UpstreamAccountView, csrfToken: string): SafeHtml {
  const connected = connection.state !== 'none';
  return html`<li class="upstream-connection">
<h3>${connection.name}</h3>
${connectionState(connection)}
${connection.connectable && upstreamForm('connect', connection, csrfToken, connected ? 'Reconnect' : 'Connect', connection.state !== 'active')}${connected && upstreamForm('disconnect', connection, csrfToken, 'Disconnect', false)}</li>
`;
}

function upstreamSection(upstreams: UpstreamAccountView[], csrfToken: string): SafeHtml {
  return html`<section class="upstream-connections">
<h2>Upstream connections</h2>
<p>Servers Gatehouse reaches with your own account there. Disconnecting revokes Gatehouse's access at the server and forgets it here.</p>
<ul>
${upstreams.map((connection) => connectionItem(connection, csrfToken))}</ul>
</section>
`;
}

const NOTICES = { revoked: 'Access revoked.', disconnected: 'Disconnected.' } as const;

/** The applications a person let use their Gatehouse, each with a way to take that access back. */
export function connectedAppsPage(input: ConnectedAppsPageInput): SafeHtml {
  return layout({
    title: 'Connected apps',
    body: html`<h1>Connected apps</h1>
<p class="lead">Applications you allowed to use Gatehouse as <strong>${input.username}</strong>. Revoking access signs the application out at once; it has to ask you again to come back.</p>
${input.notice && html`<p class="notice" role="status">${NOTICES[input.notice]}</p>`}
${input.apps.length === 0 ? html`<p>No application has access to your account.</p>` : input.apps.map((app) => appSection(app, input.csrfToken))}
${input.upstreams !== undefined && input.upstreams.length > 0 && upstreamSection(input.upstreams, input.csrfToken)}
<p><a href="/">Back to your account</a></p>`,
  });
}

/** A grant id that is not one of this person's: the same answer whether it exists or not. */
export function grantNotFoundPage(): SafeHtml {
  return messagePage({
    title: 'Not found',
    text: 'This access was not found among your connected apps.',
    link: { href: '/account/apps', label: 'Back to connected apps' },
  });
}
