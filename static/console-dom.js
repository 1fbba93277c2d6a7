// @ts-check
// Helpers of the console's modules: /api requests with the CSRF header, the status line, elements built from text.

export const csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
const status = /** @type {HTMLElement} */ (document.getElementById('console-status'));

/** One /api request with the CSRF header; answers the parsed JSON, throws the envelope's message. */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrfToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message ?? `${method} ${path} answered ${response.status}`);
  return data;
}

/** Upstreams whose OAuth authorization this page started and waits for: shown as `pending_oauth` until it completes. */
export const pendingAuthorizations = new Set();

export function say(text) {
  status.textContent = text;
}

/** DOM helpers: elements with text, never markup from data. */
export function el(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, String(value));
  return node;
}
export function cell(content, attributes = {}) {
  const td = el('td', typeof content === 'string' || typeof content === 'number' ? content : undefined, attributes);
  if (content instanceof Node) td.append(content);
  if (Array.isArray(content)) td.append(...content);
  return td;
}
export function row(cells) {
  const tr = el('tr');
  tr.append(...cells);
  return tr;
}
/** A button that calls /api: `data-method`, `data-path`, optional JSON `data-body` and a confirmation question. */
export function actionButton(label, method, path, { body, confirm, refresh: list, danger } = {}) {
  return el('button', label, {
    type: 'button',
    class: danger ? 'danger' : 'secondary',
    'data-method': method,
    'data-path': path,
    'data-body': body === undefined ? undefined : JSON.stringify(body),
    'data-confirm': confirm,
    'data-refresh': list,
  });
}

