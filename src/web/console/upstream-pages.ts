import { html, type SafeHtml } from '../html.js';
import { choice, field, liveTable } from './console-layout.js';

/**
 * The upstream sections: the list with the add form, and one upstream with its edit form, its tools and their pins.
 * Every field is one of `POST /api/mcp/client`'s; fieldsets marked `data-when` are shown (and sent) only for their
 * connection or auth type.
 */

function settingsFields(): SafeHtml {
  return html`${field({ label: 'Name', name: 'name', required: true, hint: 'Letters, digits, _ and -; the prefix of its tools' })}
${choice({ label: 'Connection type', name: 'connection_type', options: [['http', 'Streamable HTTP'], ['sse', 'SSE (legacy)'], ['stdio', 'stdio (a local command)']] })}
<fieldset data-when="connection_type=http,sse"><legend>Server</legend>
${field({ label: 'URL', name: 'connection_string', type: 'url', placeholder: 'https://mcp.example.com/mcp' })}
${choice({ label: 'Authentication', name: 'auth_type', options: [['none', 'None'], ['headers', 'Static headers'], ['oauth', 'OAuth (one shared connection)'], ['per_user_oauth', 'OAuth per user']] })}
</fieldset>
<fieldset data-when="connection_type=stdio"><legend>Command</legend>
${field({ label: 'Command', name: 'stdio_config.command' })}
${field({ label: 'Arguments', name: 'stdio_config.args', dataType: 'list', hint: 'Comma-separated' })}
${field({ label: 'Environment', name: 'stdio_config.envs', type: 'textarea', dataType: 'map', hint: 'One NAME=value per line; stored sealed, never shown again' })}
</fieldset>
<fieldset data-when="auth_type=headers"><legend>Headers</legend>
${field({ label: 'Headers', name: 'headers', type: 'textarea', dataType: 'map', hint: 'One Name: value per line; stored sealed, only names shown again' })}
</fieldset>
<fieldset data-when="auth_type=oauth,per_user_oauth"><legend>OAuth</legend>
<p class="hint">Leave these empty to discover the upstream\u2019s authorization server and register with it.</p>
${field({ label: 'Client id', name: 'oauth_config.client_id' })}
${field({ label: 'Client secret', name: 'oauth_config.client_secret', type: 'password' })}
${field({ label: 'Scopes', name: 'oauth_config.scopes', dataType: 'list', hint: 'Comma-separated' })}
</fieldset>
<fieldset><legend>Tools and limits</legend>
${field({ label: 'Tools to execute', name: 'tools_to_execute', dataType: 'list', hint: 'Comma-separated; * for all', value: '*' })}
${field({ label: 'Tools to skip', name: 'tools_to_skip', dataType: 'list', hint: 'Comma-separated' })}
${choice({ label: 'Tool pinning', name: 'tool_pinning', options: [['enforce', 'Enforce: withhold changed tools until approved'], ['warn', 'Warn: list them, audit the change'], ['off', 'Off']] })}
${choice({ label: 'New tools', name: 'new_tools', options: [['auto', 'Pin automatically'], ['approve', 'Hold until approved']] })}
${field({ label: 'Calls per user', name: 'rate_limit.calls', type: 'number', dataType: 'number', hint: 'Quota: leave empty for none' })}
${field({ label: 'Per seconds', name: 'rate_limit.per_seconds', type: 'number', dataType: 'number' })}
${field({ label: 'Per-tool quotas', name: 'tool_rate_limits', type: 'textarea', dataType: 'rate-map', hint: 'One tool: calls/seconds per line, e.g. search: 10/60' })}
${field({ label: 'Allowed groups', name: 'allowed_groups', dataType: 'list', hint: 'Comma-separated; everyone when empty' })}
</fieldset>`;
}

const FORM_END = html`<p class="form-result" role="status" aria-live="polite"></p>
<div class="oauth-pending" hidden><p>Authorize Gatehouse at the upstream: <a target="_blank" rel="noopener">open the authorization page in a new tab</a>. This page shows the upstream connected once you have approved.</p></div>`;

export function upstreamsBody(): SafeHtml {
  return html`<noscript><p class="notice">The console works through /api from this page\u2019s script; turn on JavaScript for this site.</p></noscript>
${liveTable({ list: 'upstreams', source: '/api/mcp/clients', caption: 'Upstream MCP servers and their live state', columns: ['Name', 'State', 'Transport', 'Auth', 'Tools', 'Actions'] })}
<section aria-labelledby="add-heading"><h2 id="add-heading">Add an upstream</h2>
<form class="api-form upstream-form" data-api="POST /api/mcp/client" data-refresh="upstreams" aria-labelledby="add-heading">
${settingsFields()}
<button type="submit">Add upstream</button>
${FORM_END}
</form></section>`;
}

export function upstreamBody(id: string): SafeHtml {
  return html`<p><a href="/admin/upstreams">All upstreams</a></p>
<section aria-labelledby="state-heading" data-upstream="${id}"><h2 id="state-heading">State</h2>
<p data-upstream-state>Loading…</p>
<p class="actions"><button type="button" class="secondary" data-upstream-action="reconnect">Reconnect</button>
<button type="button" class="danger" data-upstream-action="delete">Delete</button></p>
${FORM_END}
</section>
<section aria-labelledby="tools-heading"><h2 id="tools-heading">Tools</h2>
${liveTable({ list: 'tools', source: `/api/mcp/client/${encodeURIComponent(id)}/tools`, caption: 'Its tools: policy and pinning status', columns: ['Tool', 'Policy', 'Pin', 'Actions'] })}
</section>
<section aria-labelledby="edit-heading"><h2 id="edit-heading">Settings</h2>
<form class="api-form upstream-form" data-api="PUT /api/mcp/client/${id}" data-refresh="upstream" data-fill="/api/mcp/client/${id}" aria-labelledby="edit-heading">
${settingsFields()}
<p class="hint">Secrets left empty are kept.</p>
<button type="submit">Save</button>
<p class="form-result" role="status" aria-live="polite"></p>
</form></section>`;
}
