import type { FastifyReply } from 'fastify';
import { FAVICON_URL, STYLESHEET_URL } from './assets.js';
import { html, SafeHtml } from './html.js';
import { LOGO_SVG } from './styles.js';

/**
 * Headers on every HTML page: no scripts at all, styles and images only from here, forms post only here,
 * never framed (clickjacking), never cached (pages show who is signed in), no referrer leaks of `next`.
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const LOGO = new SafeHtml(LOGO_SVG);

/** The document's start up to `<body>`, shared by every page; `extra` is what a page adds to its head (the console's script). */
export function documentStart(title: string, extra: SafeHtml | '' = ''): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
<title>${title}</title>
<link rel="stylesheet" href="${STYLESHEET_URL}">
<link rel="icon" href="${FAVICON_URL}" type="image/svg+xml">
${extra}</head>
`;
}

/** The shared layout: brand header, one card (`main`) holding the page's content. */
export function layout(page: { title: string; body: SafeHtml }): SafeHtml {
  return html`${documentStart(`${page.title} · Gatehouse`)}<body>
<header class="brand">${LOGO}<span>Gatehouse</span></header>
<main>
${page.body}
</main>
</body>
</html>
`;
}

/** Sends a rendered page with its status and the security headers every page carries. */
export function sendPage(reply: FastifyReply, statusCode: number, page: SafeHtml): FastifyReply {
  return reply.code(statusCode).headers(PAGE_SECURITY_HEADERS).type('text/html; charset=utf-8').send(page.markup);
}
