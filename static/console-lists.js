// @ts-check
// How each table of the console shows what /api answered: one renderer per `data-list`, rows built from text.
import { actionButton, api, cell, el, pendingAuthorizations, row } from './console-dom.js';

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');
const stateText = (status) =>
  [status.state, status.reason, status.retry_at ? `next retry ${new Date(status.retry_at).toLocaleTimeString()}` : ''].filter(Boolean).join(' · ');
/** The live state; an upstream waiting for the admin's authorization in another tab is `pending_oauth`. */
const shownStatus = (upstream) =>
  pendingAuthorizations.has(upstream.id) && upstream.status.state !== 'connected' ? { state: 'pending_oauth', reason: 'authorize it in the new tab' } : upstream.status;
const state = (status) => el('span', status.state, { class: `state state-${status.state}` });
const link = (href, text) => el('a', text, { href });

function usersRows(data) {
  const local = data.users.filter((user) => user.source === 'local');
  const select = document.querySelector('select[data-options="local-users"]');
  if (select) select.replaceChildren(...local.map((user) => el('option', user.username, { value: user.id })));
  return data.users
    .filter((user) => user.source !== 'service_account')
    .map((user) => {
      const path = `/api/users/${encodeURIComponent(user.id)}`;
      const actions = [
        user.disabled
          ? actionButton('Enable', 'PATCH', path, { body: { disabled: false }, refresh: 'users' })
          : actionButton('Disable', 'PATCH', path, { body: { disabled: true }, refresh: 'users', confirm: `Disable ${user.username}? Their sessions and tokens stop working at once.` }),
        user.source === 'local' &&
          (user.is_admin
            ? actionButton('Remove admin', 'PATCH', path, { body: { is_admin: false }, refresh: 'users' })
            : actionButton('Make admin', 'PATCH', path, { body: { is_admin: true }, refresh: 'users' })),
        actionButton('Delete', 'DELETE', path, { refresh: 'users', danger: true, confirm: `Delete ${user.username} with their keys and grants?` }),
      ].filter(Boolean);
      actions.forEach((button) => button.setAttribute('aria-label', `${button.textContent} ${user.username}`));
      const source = user.groups.length ? `${user.source} (${user.groups.join(', ')})` : user.source;
      return row([cell(user.username), cell(source), cell(user.is_admin ? 'admin' : 'user'), cell(user.disabled ? 'disabled' : 'active'), cell(actions)]);
    });
}

function serviceAccountRows(data) {
  return data.service_accounts.map((account) => {
    const path = `/api/service-accounts/${encodeURIComponent(account.id)}`;
    return row([
      cell(account.name),
      cell(el('code', account.client_id)),
      cell(`${account.groups.join(', ') || 'no groups'} · ${account.scopes.join(' ')}`),
      cell([
        actionButton('Rotate secret', 'POST', `${path}/rotate-secret`, { refresh: 'service-accounts', confirm: `Give ${account.name} a new secret? The old one stops working.` }),
        actionButton('Delete', 'DELETE', path, { refresh: 'service-accounts', danger: true, confirm: `Delete service account ${account.name}?` }),
      ]),
    ]);
  });
}

const REGISTRATION = { dynamic: 'DCR', metadata_document: 'CIMD', service_account: 'service account' };

function clientRows(data) {
  return data.clients.map((client) =>
    row([
      cell(client.metadata.client_name ?? client.client_id),
      cell(REGISTRATION[client.kind] ?? client.kind),
      cell((client.metadata.redirect_uris ?? []).join('\n')),
      cell(when(client.created_at)),
      cell(client.kind === 'service_account' ? '' : actionButton('Delete', 'DELETE', `/api/oauth/clients/${encodeURIComponent(client.client_id)}`, { refresh: 'clients', danger: true, confirm: 'Delete this client and its grants?' })),
    ]),
  );
}

function grantRows(data) {
  return data.grants.map((grant) =>
    row([
      cell(grant.user),
      cell(grant.client_name ?? grant.client_id),
      cell(grant.scope),
      cell(when(grant.last_used_at)),
      cell(actionButton('Revoke', 'DELETE', `/api/oauth/grants/${encodeURIComponent(grant.id)}`, { refresh: 'grants', danger: true, confirm: `Revoke ${grant.user}'s grant to ${grant.client_name ?? grant.client_id}?` })),
    ]),
  );
}

function apiKeyRows(data) {
  return data.api_keys
    .filter((key) => !key.revoked)
    .map((key) =>
      row([
        cell(key.name),
        cell(key.user),
        cell(el('code', key.hint)),
        cell(when(key.last_used_at)),
        cell(actionButton('Revoke', 'DELETE', `/api/apikeys/${encodeURIComponent(key.id)}`, { refresh: 'api-keys', danger: true, confirm: `Revoke the key ${key.name}?` })),
      ]),
    );
}

function auditRows(data) {
  const next = document.querySelector('[data-next-page]');
  if (next) {
    next.hidden = !data.next_cursor;
    next.dataset.cursor = data.next_cursor ?? '';
  }
  return data.entries.map((entry) =>
    row([cell(when(entry.at)), cell(entry.user ?? '—'), cell(entry.upstream), cell(entry.tool), cell(entry.error ? `${entry.outcome}: ${entry.error}` : entry.outcome), cell(`${entry.duration_ms} ms`)]),
  );
}

function eventRows(data) {
  return data.events.map((event) => row([cell(when(event.at)), cell(event.kind), cell(event.user_id ?? '—'), cell(el('code', JSON.stringify(event.detail)))]));
}

const AUTH = { none: 'none', headers: 'headers', oauth: 'OAuth', per_user_oauth: 'OAuth per user' };

function upstreamRows(data) {
  return data.clients.map((upstream) => {
    const tools = cell('—', { 'data-tool-count': upstream.id });
    if (upstream.status.state === 'connected') {
      api('GET', `/api/mcp/client/${encodeURIComponent(upstream.id)}/tools`).then(
        (listed) => (tools.textContent = String(listed.tools.length)),
        () => (tools.textContent = '?'),
      );
    }
    const path = `/api/mcp/client/${encodeURIComponent(upstream.id)}`;
    return row([
      cell(link(`/admin/upstreams/${encodeURIComponent(upstream.id)}`, upstream.name)),
      cell([state(shownStatus(upstream)), el('small', shownStatus(upstream).reason ? ` ${stateText(shownStatus(upstream)).slice(shownStatus(upstream).state.length)}` : '')]),
      cell(upstream.connection_type),
      cell(AUTH[upstream.auth_type] ?? upstream.auth_type),
      tools,
      cell([
        actionButton('Reconnect', 'POST', `${path}/reconnect`, { refresh: 'upstreams' }),
        actionButton('Delete', 'DELETE', path, { refresh: 'upstreams', danger: true, confirm: `Delete upstream ${upstream.name}?` }),
      ]),
    ]);
  });
}

function upstreamHealthRows(data) {
  return data.clients.map((upstream) => row([cell(link(`/admin/upstreams/${encodeURIComponent(upstream.id)}`, upstream.name)), cell(state(shownStatus(upstream))), cell(stateText(shownStatus(upstream)))]));
}

/** A JSON value with every object's keys sorted, so two definitions line up field by field. */
const sortedKeys = (value) =>
  Array.isArray(value) ? value.map(sortedKeys)
  : value && typeof value === 'object' ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedKeys(value[key])]))
  : value;
const jsonLines = (value) => JSON.stringify(sortedKeys(value), null, 2).split('\n').map((line) => line.replace(/,$/, ''));

/** Line diff of two JSON documents: lines only in the old one marked removed, only in the new one added. */
function definitionDiff(before, after) {
  const oldLines = jsonLines(before);
  const newLines = jsonLines(after);
  const pre = el('pre', undefined, { class: 'diff', 'aria-label': 'Definition change: removed lines marked −, added lines +' });
  for (const line of oldLines) if (!newLines.includes(line)) pre.append(el('span', `− ${line}`, { class: 'removed' }));
  for (const line of newLines) pre.append(oldLines.includes(line) ? el('span', `  ${line}\n`) : el('span', `+ ${line}`, { class: 'added' }));
  return pre;
}

const matches = (patterns, name) => patterns.some((pattern) => pattern === '*' || pattern === name);

function toolRows(data, table) {
  const execute = JSON.parse(table.dataset.execute ?? '["*"]');
  const skip = JSON.parse(table.dataset.skip ?? '[]');
  return data.tools.map((tool) => {
    const allowed = matches(execute, tool.name) && !matches(skip, tool.name);
    const pin = [el('span', tool.status, { class: `state state-${tool.status === 'approved' ? 'connected' : 'error'}` })];
    if (tool.previous_definition) pin.push(definitionDiff(tool.previous_definition, tool.definition));
    const approve = tool.status === 'approved' ? '' : actionButton('Approve', 'POST', `/api/mcp/client/${encodeURIComponent(table.dataset.upstream)}/tools/${encodeURIComponent(tool.name)}/approve`, { refresh: 'tools' });
    if (approve) approve.setAttribute('aria-label', `Approve ${tool.name}`);
    return row([cell([el('strong', tool.name), el('br'), el('small', tool.definition.description ?? '')]), cell(allowed ? 'executes' : 'skipped'), cell(pin), cell(approve)]);
  });
}

export const renderers = {
  users: usersRows,
  'service-accounts': serviceAccountRows,
  clients: clientRows,
  grants: grantRows,
  'api-keys': apiKeyRows,
  audit: auditRows,
  events: eventRows,
  upstreams: upstreamRows,
  'upstream-health': upstreamHealthRows,
  tools: toolRows,
};
