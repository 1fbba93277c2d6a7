import type { FastifyInstance } from 'fastify';

// Browser-based MCP clients (Inspector, hosted portals) call these cross-origin without cookies, so `*` is safe.
const ALLOW_HEADERS = 'Authorization, Content-Type, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, Last-Event-ID';
const EXPOSE_HEADERS = 'WWW-Authenticate, Mcp-Session-Id';

/**
 * Opens CORS on every route registered in this plugin scope (metadata, registration, token, revocation,
 * introspection), answering preflights too. Never used on the authorization endpoint or the pages.
 */
export function allowCrossOriginCalls(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-expose-headers', EXPOSE_HEADERS);
    if (request.method === 'OPTIONS') {
      reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST, PUT, DELETE, OPTIONS')
        .header('access-control-allow-headers', ALLOW_HEADERS)
        .header('access-control-max-age', '600')
        .send();
    }
  });
  // Preflights reach the hook above only if some OPTIONS route matches the path.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes('OPTIONS') || route.url.includes('*')) return;
    if (app.hasRoute({ method: 'OPTIONS', url: route.url })) return;
    app.options(route.url, async () => undefined);
  });
}
