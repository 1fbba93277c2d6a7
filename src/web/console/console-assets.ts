import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { CONSOLE_STYLESHEET } from './console-styles.js';

/**
 * The console's script: plain ES modules kept in `static/` (no bundler, no framework), read once at start from the
 * package root, which is three folders up from both `src/web/console/` and `dist/web/console/`.
 */
const STATIC_DIR = new URL('../../../static/', import.meta.url);
const MODULES = ['console.js', 'console-dom.js', 'console-lists.js', 'console-upstream.js'] as const;
const moduleText = new Map(MODULES.map((name) => [name, readFileSync(new URL(name, STATIC_DIR), 'utf8')]));

/** The entry's URL carries a hash of every module, so a page never pairs with a stale cached entry. */
const versioned = (path: string, ...bodies: string[]) => {
  const hash = createHash('sha256');
  for (const body of bodies) hash.update(body);
  return `${path}?v=${hash.digest('base64url').slice(0, 12)}`;
};

export const CONSOLE_SCRIPT_URL = versioned('/static/console.js', ...moduleText.values());
export const CONSOLE_STYLESHEET_URL = versioned('/static/console.css', CONSOLE_STYLESHEET);

const JAVASCRIPT = 'text/javascript; charset=utf-8';
const assets = [
  ...MODULES.map((name) => ({ path: `/static/${name}`, type: JAVASCRIPT, body: moduleText.get(name)!, cache: name === 'console.js' ? 'public, max-age=86400' : 'no-cache' })),
  { path: '/static/console.css', type: 'text/css; charset=utf-8', body: CONSOLE_STYLESHEET, cache: 'public, max-age=86400' },
];

/**
 * Serves the console's modules and stylesheet from memory. The entry and the stylesheet are versioned and cached for a
 * day; the modules it imports (plain relative URLs) are revalidated, so an upgrade never mixes old and new ones.
 */
export const consoleAssets: FastifyPluginAsync = async (app) => {
  for (const asset of assets) {
    app.get(asset.path, async (_request, reply) =>
      reply.header('content-type', asset.type).header('cache-control', asset.cache).header('x-content-type-options', 'nosniff').send(asset.body),
    );
  }
};
