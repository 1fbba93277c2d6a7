import type { FastifyReply } from 'fastify';
import { html, SafeHtml, type HtmlValue } from '../html.js';
import { documentStart, PAGE_SECURITY_HEADERS } from '../page.js';
import { LOGO_SVG } from '../styles.js';
import { CONSOLE_SCRIPT_URL, CONSOLE_STYLESHEET_URL } from './console-assets.js';

/**
 * The pages' headers (page.ts), but with the console's one script and its calls to /api allowed: scripts and
 * connections only from this origin, still no inline script, no framing.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...PAGE_SECURITY_HEADERS,
  'content-security-policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

export const CONSOLE_SECTIONS = [
  { path: '/admin', label: 'Overview' },
  { path: '/admin/upstreams', label: 'Upstreams' },
  { path: '/admin/users', label: 'Users' },
  { path: '/admin/oauth', label: 'OAuth clients and grants' },
  { path: '/admin/api-keys', label: 'API keys' },
  { path: '/admin/audit', label: 'Audit' },
] as const;

export type ConsoleSectionPath = (typeof CONSOLE_SECTIONS)[number]['path'];

export interface ConsolePageInput {
  title: string;
  /** The section the page belongs to, marked current in the navigation. */
  section: ConsoleSectionPath;
  username: string;
  /** The session's CSRF token, which the script sends to /api in `x-csrf-token`. */
  csrfToken: string;
  body: SafeHtml;
}

const LOGO = new SafeHtml(LOGO_SVG);

/** The console's frame: header with who is signed in, the sections, one live region for the script's messages. */
export function consoleLayout(page: ConsolePageInput): SafeHtml {
  const head = html`<meta name="csrf-token" content="${page.csrfToken}">
<link rel="stylesheet" href="${CONSOLE_STYLESHEET_URL}">
<script type="module" src="${CONSOLE_SCRIPT_URL}"></script>
`;
  return html`${documentStart(`${page.title} · Gatehouse console`, head)}<body class="console">
<a class="skip" href="#content">Skip to content</a>
<header class="console-header">
<a class="brand" href="/">${LOGO}<span>Gatehouse</span></a>
<span class="who">Signed in as <strong>${page.username}</strong></span>
<form method="post" action="/logout"><button type="submit" class="secondary small">Sign out</button></form>
</header>
<nav aria-label="Console sections"><ul>
${CONSOLE_SECTIONS.map((section) => html`<li><a href="${section.path}"${section.path === page.section ? new SafeHtml(' aria-current="page"') : ''}>${section.label}</a></li>
`)}</ul></nav>
<main id="content" tabindex="-1">
<h1>${page.title}</h1>
<p id="console-status" class="console-status" role="status" aria-live="polite"></p>
${page.body}
</main>
</body>
</html>
`;
}

export function sendConsolePage(reply: FastifyReply, statusCode: number, page: SafeHtml): FastifyReply {
  return reply.code(statusCode).headers(CONSOLE_SECURITY_HEADERS).type('text/html; charset=utf-8').send(page.markup);
}

/** A labelled form field; `data-type` tells the script how to put it in the JSON body (text by default). */
export function field(input: {
  label: string;
  name: string;
  type?: 'text' | 'password' | 'number' | 'url' | 'datetime-local' | 'textarea' | 'checkbox';
  dataType?: 'list' | 'map' | 'rate-map' | 'number' | 'boolean';
  hint?: string;
  required?: boolean;
  placeholder?: string;
  value?: string;
  /** Keeps ids unique when two forms of a page have a field of the same name. */
  idPrefix?: string;
}): SafeHtml {
  const id = `f-${input.idPrefix ?? ''}${input.name.replace(/[^a-z0-9]+/gi, '-')}`;
  const hintId = input.hint ? `${id}-hint` : undefined;
  const extra: HtmlValue = html`${input.required ? new SafeHtml(' required') : ''}${input.dataType ? html` data-type="${input.dataType}"` : ''}${input.placeholder ? html` placeholder="${input.placeholder}"` : ''}${hintId ? html` aria-describedby="${hintId}"` : ''}`;
  const hint = hintId && html`<small id="${hintId}" class="hint">${input.hint}</small>`;
  if (input.type === 'checkbox') {
    return html`<div class="field check"><input type="checkbox" id="${id}" name="${input.name}" data-type="boolean"${extra}><label for="${id}">${input.label}</label>${hint}</div>`;
  }
  const control =
    input.type === 'textarea'
      ? html`<textarea id="${id}" name="${input.name}" rows="3"${extra}>${input.value ?? ''}</textarea>`
      : html`<input type="${input.type ?? 'text'}" id="${id}" name="${input.name}" value="${input.value ?? ''}"${extra}>`;
  return html`<div class="field"><label for="${id}">${input.label}</label>${control}${hint}</div>`;
}

/** A select with a label; `options` are [value, label] pairs, the first one chosen. */
export function choice(input: { label: string; name: string; options: readonly (readonly [string, string])[]; hint?: string }): SafeHtml {
  const id = `f-${input.name.replace(/[^a-z0-9]+/gi, '-')}`;
  return html`<div class="field"><label for="${id}">${input.label}</label><select id="${id}" name="${input.name}">
${input.options.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
</select>${input.hint && html`<small class="hint">${input.hint}</small>`}</div>`;
}

/** A table the script fills from /api (`data-list` names its renderer); a caption for screen readers. */
export function liveTable(input: { list: string; caption: string; columns: readonly string[]; source?: string }): SafeHtml {
  return html`<div class="table-wrap"><table data-list="${input.list}"${input.source ? html` data-source="${input.source}"` : ''}>
<caption>${input.caption}</caption>
<thead><tr>${input.columns.map((column) => html`<th scope="col">${column}</th>`)}</tr></thead>
<tbody><tr><td colspan="${input.columns.length}">Loading…</td></tr></tbody>
</table></div>`;
}
