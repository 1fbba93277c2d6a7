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

export interface ConnectedAppsPageInput {
  username: string;
  apps: ConnectedApp[];
  csrfToken: string;
  /** Set right after a revocation, so the person sees it took effect. */
  revoked?: boolean;
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

/** The applications a person let use their Gatehouse, each with a way to take that access back. */
export function connectedAppsPage(input: ConnectedAppsPageInput): SafeHtml {
  return layout({
    title: 'Connected apps',
    body: html`<h1>Connected apps</h1>
<p class="lead">Applications you allowed to use Gatehouse as <strong>${input.username}</strong>. Revoking access signs the application out at once; it has to ask you again to come back.</p>
${input.revoked && html`<p class="notice" role="status">Access revoked.</p>`}
${input.apps.length === 0 ? html`<p>No application has access to your account.</p>` : input.apps.map((app) => appSection(app, input.csrfToken))}
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
