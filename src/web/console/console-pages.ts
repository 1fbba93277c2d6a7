import { PASSWORD_MIN_LENGTH } from '../../identity/password.js';
import { html, type SafeHtml } from '../html.js';
import { choice, field, liveTable } from './console-layout.js';

/**
 * The console's sections except upstreams (upstream-pages.ts): server-rendered forms and empty tables. The script
 * (static/console.js) fills the tables from /api and sends the forms to /api as JSON, so the console does
 * nothing the API cannot; without the script the page says so.
 */

const NEEDS_SCRIPT = html`<noscript><p class="notice">The console reads and changes everything through Gatehouse\u2019s /api from this page\u2019s script; turn on JavaScript for this site.</p></noscript>`;

/** A form the script sends as JSON: `api` is `METHOD /api/path`; `secret` names a field of the answer shown once. */
function apiForm(input: { api: string; refresh: string; submit: string; secret?: string; body: SafeHtml; label: string }): SafeHtml {
  return html`<form class="api-form" data-api="${input.api}" data-refresh="${input.refresh}"${input.secret ? html` data-secret="${input.secret}"` : ''} aria-label="${input.label}">
${input.body}
<button type="submit">${input.submit}</button>
<p class="form-result" role="status" aria-live="polite"></p>
${input.secret ? html`<div class="secret" hidden><p><strong>Copy it now: it is shown only once.</strong></p><output></output></div>` : ''}
</form>`;
}

export function overviewBody(): SafeHtml {
  return html`${NEEDS_SCRIPT}
<section aria-labelledby="stats-heading"><h2 id="stats-heading">Last 15 minutes</h2>
<dl class="stats" data-overview>
<div><dt>Upstreams connected</dt><dd data-stat="upstreams">…</dd></div>
<div><dt>Calls per minute</dt><dd data-stat="per_minute">…</dd></div>
<div><dt>Errors</dt><dd data-stat="errors">…</dd></div>
<div><dt>Active sessions</dt><dd data-stat="active_sessions">…</dd></div>
</dl></section>
<section aria-labelledby="health-heading"><h2 id="health-heading">Upstream health</h2>
${liveTable({ list: 'upstream-health', source: '/api/mcp/clients', caption: 'Each upstream and its live state', columns: ['Upstream', 'State', 'Detail'] })}
</section>`;
}

export function usersBody(): SafeHtml {
  return html`${NEEDS_SCRIPT}
<section aria-labelledby="users-heading"><h2 id="users-heading">Users</h2>
${liveTable({ list: 'users', source: '/api/users', caption: 'Local and company (SSO) users', columns: ['Username', 'Source and groups', 'Role', 'State', 'Actions'] })}
<div class="forms">
${apiForm({
  api: 'POST /api/users', refresh: 'users', submit: 'Create user', label: 'Create a user',
  body: html`<h3>Create a user</h3>${field({ label: 'Username', name: 'username', required: true })}${field({ label: 'Password', name: 'password', type: 'password', required: true, hint: `At least ${PASSWORD_MIN_LENGTH} characters` })}${field({ label: 'Admin', name: 'is_admin', type: 'checkbox' })}`,
})}
<form class="api-form" data-api="POST /api/users/{id}/password" data-refresh="users" aria-label="Reset a password">
<h3>Reset a password</h3>
<div class="field"><label for="f-reset-user">User</label><select id="f-reset-user" name="id" data-path-param data-options="local-users" required></select></div>
${field({ label: 'New password', name: 'password', type: 'password', required: true, idPrefix: 'reset-' })}
<button type="submit">Set password</button>
<p class="form-result" role="status" aria-live="polite"></p>
</form>
</div>
</section>
<section aria-labelledby="sa-heading"><h2 id="sa-heading">Service accounts</h2>
${liveTable({ list: 'service-accounts', source: '/api/service-accounts', caption: 'Machine identities (client credentials)', columns: ['Name', 'Client id', 'Groups and scopes', 'Actions'] })}
${apiForm({
  api: 'POST /api/service-accounts', refresh: 'service-accounts', submit: 'Create service account', secret: 'client_secret', label: 'Create a service account',
  body: html`<h3>Create a service account</h3>${field({ label: 'Name', name: 'name', required: true })}${field({ label: 'Groups', name: 'groups', dataType: 'list', hint: 'Comma-separated' })}${field({ label: 'Scopes', name: 'scopes', dataType: 'list', hint: 'Comma-separated; all of /mcp\u2019s when empty' })}`,
})}
</section>`;
}

export function oauthBody(): SafeHtml {
  return html`${NEEDS_SCRIPT}
<section aria-labelledby="clients-heading"><h2 id="clients-heading">Registered clients</h2>
${liveTable({ list: 'clients', source: '/api/oauth/clients', caption: 'OAuth clients', columns: ['Name', 'Registration', 'Redirect URIs', 'Created', 'Actions'] })}
</section>
<section aria-labelledby="grants-heading"><h2 id="grants-heading">Grants</h2>
<form class="filter" data-filter="grants" aria-label="Filter grants">
${field({ label: 'User', name: 'user', placeholder: 'username' })}
<button type="submit" class="secondary">Show</button>
</form>
${liveTable({ list: 'grants', source: '/api/oauth/grants', caption: 'What each user let each client do', columns: ['User', 'Client', 'Scopes', 'Last used', 'Actions'] })}
</section>`;
}

export function apiKeysBody(): SafeHtml {
  return html`${NEEDS_SCRIPT}
<section aria-labelledby="keys-heading"><h2 id="keys-heading">API keys</h2>
${liveTable({ list: 'api-keys', source: '/api/apikeys', caption: 'API keys by name and hint; the key itself is never shown again', columns: ['Name', 'User', 'Hint', 'Last used', 'Actions'] })}
${apiForm({
  api: 'POST /api/apikeys', refresh: 'api-keys', submit: 'Create API key', secret: 'key', label: 'Create an API key',
  body: html`<h3>Create an API key</h3>${field({ label: 'Name', name: 'name', required: true })}${field({ label: 'For user', name: 'username', hint: 'Yourself when empty' })}`,
})}
</section>`;
}

export function auditBody(): SafeHtml {
  return html`${NEEDS_SCRIPT}
<form class="filter" data-filter="audit" aria-label="Filter the audit">
${field({ label: 'User', name: 'user', placeholder: 'username' })}
${field({ label: 'Upstream', name: 'upstream', placeholder: 'name or id' })}
${field({ label: 'Tool', name: 'tool' })}
${choice({ label: 'Outcome', name: 'outcome', options: [['', 'Any'], ['ok', 'ok'], ['tool_error', 'tool_error'], ['upstream_error', 'upstream_error'], ['timeout', 'timeout'], ['cancelled', 'cancelled'], ['denied', 'denied'], ['input_required', 'input_required']] })}
${field({ label: 'From', name: 'since', type: 'datetime-local' })}
${field({ label: 'Until', name: 'until', type: 'datetime-local' })}
<button type="submit" class="secondary">Filter</button>
</form>
<p><a href="/api/audit/export" data-export>Export as JSON Lines</a></p>
${liveTable({ list: 'audit', source: '/api/audit', caption: 'Tool calls, newest first', columns: ['Time', 'User', 'Upstream', 'Tool', 'Outcome', 'Duration'] })}
<p><button type="button" class="secondary" data-next-page hidden>Next page</button></p>
<section aria-labelledby="events-heading"><h2 id="events-heading">Security events</h2>
${liveTable({ list: 'events', source: '/api/audit/events?limit=50', caption: 'Registrations, consents, grants, upstream and user changes', columns: ['Time', 'Event', 'By', 'Detail'] })}
</section>`;
}
