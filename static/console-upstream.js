// @ts-check
// The upstream pages: live state on the list and the overview, and one upstream's state, actions, tools and settings.
import { api, say } from './console-dom.js';

const LIVE_INTERVAL_MS = 5000;

/** The edit form shows the upstream's present settings (secrets never come back: those fields stay empty). */
function fillSettings(form, upstream) {
  const values = {
    ...upstream,
    'stdio_config.command': upstream.stdio_config?.command,
    'stdio_config.args': upstream.stdio_config?.args,
    'oauth_config.client_id': upstream.oauth_config?.client_id,
    'oauth_config.scopes': upstream.oauth_config?.scopes,
    'rate_limit.calls': upstream.rate_limit?.calls,
    'rate_limit.per_seconds': upstream.rate_limit?.per_seconds,
    tool_rate_limits: Object.entries(upstream.tool_rate_limits ?? {}).map(([tool, limit]) => `${tool}: ${limit.calls}/${limit.per_seconds}`).join('\n'),
  };
  for (const input of form.querySelectorAll('input[name], select[name], textarea[name]')) {
    const value = values[input.name];
    // Secrets never come back: password fields and the header and environment maps stay empty (kept when left so).
    if (value === undefined || value === null || input.type === 'password' || (input.dataset.type === 'map')) continue;
    input.value = Array.isArray(value) ? value.join(', ') : String(value);
  }
  form.dispatchEvent(new Event('change', { bubbles: true }));
}

const CONNECTING_POLLS = 20;

/** The upstream, once it is past `connecting` (a save or reconnect restarts its connection), or as it is after 10 s. */
async function settledUpstream(id) {
  let upstream = await api('GET', `/api/mcp/client/${encodeURIComponent(id)}`);
  for (let poll = 0; poll < CONNECTING_POLLS && upstream.status.state === 'connecting'; poll++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    upstream = await api('GET', `/api/mcp/client/${encodeURIComponent(id)}`);
  }
  return upstream;
}

async function showUpstream(section, { refresh }) {
  const id = section.dataset.upstream;
  const upstream = await settledUpstream(id);
  const { status } = upstream;
  const line = section.querySelector('[data-upstream-state]');
  line.replaceChildren();
  const badge = document.createElement('span');
  badge.className = `state state-${status.state}`;
  badge.textContent = status.state;
  line.append(badge, ` · ${upstream.connection_type} · auth ${upstream.auth_type}${status.reason ? ` · ${status.reason}` : ''}${status.retry_at ? ` · next retry ${new Date(status.retry_at).toLocaleTimeString()}` : ''}`);
  const tools = document.querySelector('table[data-list="tools"]');
  tools.dataset.upstream = id;
  tools.dataset.execute = JSON.stringify(upstream.tools_to_execute ?? ['*']);
  tools.dataset.skip = JSON.stringify(upstream.tools_to_skip ?? []);
  if (status.state === 'connected') return refresh('tools').then(() => upstream);
  const note = document.createElement('td');
  note.colSpan = tools.tHead.rows[0].cells.length;
  note.textContent = 'Its tools are listed once it is connected.';
  const row = document.createElement('tr');
  row.append(note);
  tools.tBodies[0].replaceChildren(row);
  return upstream;
}

export function startUpstreamPages({ refresh, followAuthorization }) {
  const live = document.querySelector('table[data-list="upstreams"], table[data-list="upstream-health"]');
  if (live) {
    setInterval(() => {
      if (document.visibilityState === 'visible') void refresh(live.dataset.list);
    }, LIVE_INTERVAL_MS);
  }
  const section = document.querySelector('[data-upstream]');
  if (!section) return;
  const id = section.dataset.upstream;
  const form = document.querySelector('form[data-fill]');
  void showUpstream(section, { refresh }).then((upstream) => fillSettings(form, upstream), (error) => say(`Could not load: ${error.message}`));
  section.addEventListener('click', async (event) => {
    const action = event.target.closest('button[data-upstream-action]')?.dataset.upstreamAction;
    if (!action) return;
    try {
      if (action === 'delete') {
        if (!window.confirm('Delete this upstream?')) return;
        await api('DELETE', `/api/mcp/client/${encodeURIComponent(id)}`);
        window.location.assign('/admin/upstreams');
        return;
      }
      say('Reconnecting…');
      const answer = await api('POST', `/api/mcp/client/${encodeURIComponent(id)}/reconnect`);
      if (answer?.status === 'pending_oauth') await followAuthorization(section, answer);
      await showUpstream(section, { refresh });
      say('Reconnected.');
    } catch (error) {
      say(`Failed: ${error.message}`);
    }
  });
  form.addEventListener('console:saved', () => void showUpstream(section, { refresh }));
}
