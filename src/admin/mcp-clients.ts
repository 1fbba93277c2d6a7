import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Runtime } from '../runtime.js';
import { UpstreamConflict } from '../upstream/upstream-service.js';
import { ApiError } from './envelope.js';

export const upstreamIdParams = z.strictObject({ id: z.string().min(1).max(100) });

const notFound = () => new ApiError(404, 'not_found', 'no upstream has this id', { param: 'id' });

/** Store-level refusals become 409s naming the field, e.g. a config-file upstream edited through the API. */
async function orConflict<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof UpstreamConflict) throw new ApiError(409, error.code, error.message, { param: error.code === 'name_taken' ? 'name' : 'id' });
    throw error;
  }
}

/**
 * Upstream MCP servers, with Bifrost's paths: `POST /api/mcp/client`, `GET /api/mcp/clients`,
 * `GET|PUT|DELETE /api/mcp/client/{id}`, `POST /api/mcp/client/{id}/reconnect`. Secrets are write-only.
 */
export const mcpClientRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async (api, { runtime }) => {
  const upstreams = runtime.upstreamService;

  api.get('/mcp/clients', async () => ({ clients: await upstreams.list() }));

  api.post('/mcp/client', async (request, reply) => {
    const created = await orConflict(() => upstreams.create(request.body ?? {}));
    return reply.code(201).send(created);
  });

  api.get('/mcp/client/:id', async (request) => {
    const { id } = upstreamIdParams.parse(request.params);
    const upstream = await upstreams.get(id);
    if (!upstream) throw notFound();
    return upstream;
  });

  api.put('/mcp/client/:id', async (request) => {
    const { id } = upstreamIdParams.parse(request.params);
    const updated = await orConflict(() => upstreams.update(id, request.body ?? {}));
    if (!updated) throw notFound();
    return updated;
  });

  api.delete('/mcp/client/:id', async (request, reply) => {
    const { id } = upstreamIdParams.parse(request.params);
    if (!(await orConflict(() => upstreams.remove(id)))) throw notFound();
    return reply.code(204).send();
  });

  api.post('/mcp/client/:id/reconnect', async (request) => {
    const { id } = upstreamIdParams.parse(request.params);
    const status = await upstreams.reconnect(id);
    if (!status) throw notFound();
    return { id, status };
  });
};
