import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { LOGO_SVG, STYLESHEET } from './styles.js';

function versioned(path: string, body: string): string {
  return `${path}?v=${createHash('sha256').update(body).digest('base64url').slice(0, 12)}`;
}

/** The favicon is an image on its own, so it cannot inherit a colour from the page. */
const FAVICON_SVG = LOGO_SVG.replace('currentColor', '#2f5bd3');

/** URLs carry a content hash, so a long cache lifetime never serves a stale stylesheet after an upgrade. */
export const STYLESHEET_URL = versioned('/static/gatehouse.css', STYLESHEET);
export const FAVICON_URL = versioned('/static/favicon.svg', FAVICON_SVG);

const assets = [
  { path: '/static/gatehouse.css', type: 'text/css; charset=utf-8', body: STYLESHEET },
  { path: '/static/favicon.svg', type: 'image/svg+xml', body: FAVICON_SVG },
];

/** Serves the static assets of the server-rendered pages from memory. */
export const webAssets: FastifyPluginAsync = async (app) => {
  for (const asset of assets) {
    app.get(asset.path, async (_request, reply) =>
      reply
        .header('content-type', asset.type)
        .header('cache-control', 'public, max-age=86400')
        .header('x-content-type-options', 'nosniff')
        .send(asset.body),
    );
  }
};
