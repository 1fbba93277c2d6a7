// @ts-check
// The Gatehouse console's one script: fills the server-rendered tables from /api and sends the forms and buttons to
// /api as JSON with the session's CSRF token. No framework and no build step; text goes in with textContent only.
import { api, cell, csrfToken, el, pendingAuthorizations, row, say } from './console-dom.js';
import { renderers } from './console-lists.js';
import { startUpstreamPages } from './console-upstream.js';

/** Refills every table of the page (or those of one list) from its source. */
async function refresh(list) {
  const tables = [...document.querySelectorAll('table[data-list]')].filter((table) => !list || table.getAttribute('data-list') === list);
  await Promise.all(tables.map(fillTable));
  if (!list || list === 'overview') await fillOverview();
}

async function fillTable(table) {
  const name = table.dataset.list;
  const render = renderers[name];
  // An upstream's tools wait until its settings (the tool policy) are read: console-upstream.js fills them.
  if (name === 'tools' && !table.dataset.upstream) return;
  const source = table.dataset.query ? `${table.dataset.source}${table.dataset.source.includes('?') ? '&' : '?'}${table.dataset.query}` : table.dataset.source;
  const body = table.tBodies[0];
  try {
    const data = await api('GET', source);
    const rows = render(data, table);
    body.replaceChildren(...(rows.length > 0 ? rows : [row([cell('Nothing here yet.', { colspan: table.tHead.rows[0].cells.length })])]));
  } catch (error) {
    body.replaceChildren(row([cell(`Could not load: ${error.message}`, { colspan: table.tHead.rows[0].cells.length })]));
  }
}

async function fillOverview() {
  const stats = document.querySelector('[data-overview]');
  if (!stats) return;
  const overview = await api('GET', '/api/overview');
  const set = (name, value) => (stats.querySelector(`[data-stat="${name}"]`).textContent = String(value));
  set('upstreams', `${overview.upstreams.by_state.connected ?? 0} of ${overview.upstreams.total}`);
  set('per_minute', overview.tool_calls.per_minute);
  set('errors', overview.tool_calls.errors);
  set('active_sessions', overview.active_sessions);
}

/** A form's fields as the JSON body: dotted names nest, `data-type` converts, empty fields and hidden fieldsets are left out. */
export function formBody(form) {
  const body = {};
  for (const input of form.querySelectorAll('input[name], select[name], textarea[name]')) {
    if (input.disabled || input.closest('fieldset[disabled]') || input.hasAttribute('data-path-param')) continue;
    const type = input.dataset.type;
    let value;
    if (type === 'boolean') value = input.checked;
    else if (input.value.trim() === '') continue;
    else if (type === 'number') value = Number(input.value);
    else if (type === 'list') value = input.value.split(/[,\n]/).map((item) => item.trim()).filter(Boolean);
    else if (type === 'rate-map') value = Object.fromEntries(input.value.split('\n').map((line) => line.match(/^\s*([^:]+?)\s*:\s*(\d+)\s*\/\s*(\d+)\s*$/)).filter(Boolean).map((m) => [m[1], { calls: Number(m[2]), per_seconds: Number(m[3]) }]));
    else if (type === 'map') value = Object.fromEntries(input.value.split('\n').map((line) => line.match(/^\s*([^:=]+?)\s*[:=]\s*(.*)$/)).filter(Boolean).map((m) => [m[1], m[2].trim()]));
    else value = input.value.trim();
    const path = input.name.split('.');
    let target = body;
    for (const key of path.slice(0, -1)) target = target[key] ??= {};
    target[path.at(-1)] = value;
  }
  return body;
}

/** Fieldsets marked `data-when="field=a,b"` show (and send) their fields only while that field has one of those values. */
function applyConditions(form) {
  for (const fieldset of form.querySelectorAll('fieldset[data-when]')) {
    const [name, values] = fieldset.dataset.when.split('=');
    const control = form.elements.namedItem(name);
    const active = control && !control.disabled && !control.closest('fieldset[disabled]') && values.split(',').includes(control.value);
    fieldset.hidden = !active;
    fieldset.disabled = !active;
  }
}

async function submitForm(form) {
  const result = form.querySelector('.form-result');
  const [method, template] = form.dataset.api.split(' ');
  const pathParam = form.querySelector('[data-path-param]');
  const path = pathParam ? template.replace(`{${pathParam.name}}`, encodeURIComponent(pathParam.value)) : template;
  result.classList.remove('failed');
  result.textContent = 'Working…';
  try {
    const answer = await api(method, path, formBody(form));
    result.textContent = 'Done.';
    const secretName = form.dataset.secret;
    if (secretName && answer?.[secretName]) {
      const box = form.querySelector('.secret');
      box.querySelector('output').textContent = answer[secretName];
      box.hidden = false;
    }
    if (answer?.status === 'pending_oauth') await followAuthorization(form, answer);
    for (const input of form.querySelectorAll('input[type="password"]')) input.value = '';
    form.dispatchEvent(new Event('console:saved'));
    await refresh(form.dataset.refresh);
  } catch (error) {
    result.classList.add('failed');
    result.textContent = error.message;
  }
}

/**
 * An OAuth upstream waits for the admin to approve at the upstream, in a new tab: poll its setup's status, then
 * complete it, which connects the upstream, and show the list again.
 */
async function followAuthorization(container, pending) {
  const box = container.querySelector('.oauth-pending');
  const link = box.querySelector('a');
  link.href = pending.authorize_url;
  box.hidden = false;
  pendingAuthorizations.add(pending.id);
  try {
    await refresh('upstreams');
    say(`Upstream ${pending.client.name} is pending_oauth: authorize it in the new tab.`);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const setup = await api('GET', new URL(pending.status_url).pathname);
      if (setup.status === 'failed') throw new Error(`the authorization failed: ${setup.error ?? 'no reason given'}`);
      if (setup.status === 'authorized') break;
      if (Date.now() > Date.parse(pending.expires_at)) throw new Error('the authorization expired; press Reconnect to start a new one');
    }
    await api('POST', new URL(pending.complete_url).pathname);
  } finally {
    pendingAuthorizations.delete(pending.id);
    box.hidden = true;
  }
  say(`Upstream ${pending.client.name} is connected.`);
  await refresh();
}

async function runAction(button) {
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  button.disabled = true;
  try {
    const answer = await api(button.dataset.method, button.dataset.path, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
    say(answer?.client_secret ? `New secret (shown only once): ${answer.client_secret}` : 'Done.');
    if (answer?.status === 'pending_oauth') await followAuthorization(document, answer);
    await refresh(button.dataset.refresh);
  } catch (error) {
    say(`Failed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

/** Filters (grants, audit) set the query of their table; the audit's export link and paging follow the same query. */
function applyFilter(form) {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim();
    if (text) query.set(name, form.elements.namedItem(name).type === 'datetime-local' ? new Date(text).toISOString() : text);
  }
  const table = document.querySelector(`table[data-list="${form.dataset.filter}"]`);
  table.dataset.query = query.toString();
  const exportLink = document.querySelector('a[data-export]');
  if (exportLink) exportLink.href = `/api/audit/export${query.size ? `?${query}` : ''}`;
  return fillTable(table);
}

/** The audit's next page: the same filters with the cursor the last page ended at. */
function showNextPage(button) {
  const table = document.querySelector('table[data-list="audit"]');
  const query = new URLSearchParams(table.dataset.query ?? '');
  query.set('cursor', button.dataset.cursor);
  table.dataset.query = query.toString();
  return fillTable(table);
}

/** The export is an /api request too, so it carries the CSRF header: fetched here and handed to the browser as a file. */
async function download(link) {
  const response = await fetch(link.href, { headers: { 'x-csrf-token': csrfToken } });
  if (!response.ok) return say(`Export failed: ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const save = el('a', undefined, { href: url, download: 'gatehouse-audit.jsonl' });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

document.addEventListener('submit', (event) => {
  const form = /** @type {HTMLFormElement} */ (event.target);
  if (form.dataset.api) {
    event.preventDefault();
    void submitForm(form);
  } else if (form.dataset.filter) {
    event.preventDefault();
    void applyFilter(form);
  }
});
document.addEventListener('click', (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = target.closest('button[data-path]');
  if (button) return void runAction(button);
  const nextPage = target.closest('button[data-next-page]');
  if (nextPage) return void showNextPage(nextPage);
  const exportLink = target.closest('a[data-export]');
  if (exportLink) {
    event.preventDefault();
    void download(exportLink);
  }
});
document.addEventListener('change', (event) => {
  const form = /** @type {HTMLElement} */ (event.target).closest('form');
  if (form) applyConditions(form);
});

for (const form of document.querySelectorAll('form.api-form')) applyConditions(form);
void refresh().then(() => startUpstreamPages({ refresh, followAuthorization }));

