import type { FastifyInstance } from 'fastify';

// Browser-based MCP clients (Inspector, hosted portals) call these cross-origin without cookies, so `*` is safe.
const ALLOW_HEADERS = 'Authorization, Content-Type, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, Last-Event-ID';
const EXPOSE_HEADERS = 'WWW-Authenticate, Mcp-Session-Id';

/** On every answer of a cross-origin surface (here and /mcp, which writes its own answers). */
export const CROSS_ORIGIN_HEADERS: Readonly<Record<string, string>> = { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSE_HEADERS };

/** What a preflight (OPTIONS) is answered with, beside CROSS_ORIGIN_HEADERS, with status 204. */
export const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': ALLOW_HEADERS,
  'access-control-max-age': '600',
};

/**
 * Opens CORS on every route registered in this plugin scope (metadata, registration, token, revocation,
 * introspection), answering preflights too. Never used on the authorization endpoint or the pages.
 */
export function allowCrossOriginCalls(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(CROSS_ORIGIN_HEADERS);
    if (request.method === 'OPTIONS') reply.code(204).headers(PREFLIGHT_HEADERS).send();
  });
  // Preflights reach the hook above only if some OPTIONS route matches the path.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes('OPTIONS') || route.url.includes('*')) return;
    if (app.hasRoute({ method: 'OPTIONS', url: route.url })) return;
    app.options(route.url, async () => undefined);
  });
}
