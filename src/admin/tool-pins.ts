import type { FastifyPluginAsync } from 'fastify';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { fetchAllPages } from '../gateway/catalog.js';
import { definitionOf } from '../upstream/tool-definitions.js';
import type { ToolPins } from '../upstream/tool-pins.js';
import type { Upstream, UpstreamRegistry } from '../upstream/types.js';
import { ApiError } from './envelope.js';
import { upstreamIdParams } from './mcp-clients.js';

export const toolNameParams = upstreamIdParams.extend({ name: z.string().min(1).max(128) });

/** What the pin routes use: the pins, and the upstreams whose tools they show. */
export interface ToolPinRouteDeps {
  toolPins: ToolPins;
  upstreams: Pick<UpstreamRegistry, 'get'>;
}

/**
 * Pinned tool definitions of an upstream: `GET /api/mcp/client/{id}/tools` (each tool the upstream lists now, with its
 * standing against its pin) and `POST /api/mcp/client/{id}/tools/{name}/approve` (pins the present definition).
 * Both ask the upstream for its tools, so they show what it presents at this moment.
 */
export const toolPinRoutes: FastifyPluginAsync<{ deps: ToolPinRouteDeps }> = async (api, { deps }) => {
  const pins = deps.toolPins;

  api.get('/mcp/client/:id/tools', async (request) => {
    const { id } = upstreamIdParams.parse(request.params);
    const { upstream, tools } = await presentTools(deps, id);
    return { tool_pinning: upstream.settings.tool_pinning ?? 'enforce', new_tools: upstream.settings.new_tools ?? 'auto', tools: tools.map((tool) => toolView(pins, upstream, tool)) };
  });

  api.post('/mcp/client/:id/tools/:name/approve', async (request) => {
    const { id, name } = toolNameParams.parse(request.params);
    const { upstream, tools } = await presentTools(deps, id);
    const tool = tools.find((item) => item.name === name);
    if (!tool) throw new ApiError(404, 'not_found', `upstream "${upstream.settings.name}" does not list a tool named "${name}" (use its own name, without the prefix)`, { param: 'name' });
    await pins.approve(upstream, tool, request.apiCaller?.user.id ?? null);
    return toolView(pins, upstream, tool);
  });
};

/** The upstream's tools as it lists them now, after the pins have seen them (a first sight pins them). */
async function presentTools(deps: ToolPinRouteDeps, id: string): Promise<{ upstream: Upstream; tools: Tool[] }> {
  const upstream = deps.upstreams.get(id);
  if (!upstream) throw new ApiError(404, 'not_found', 'no upstream has this id', { param: 'id' });
  const client = upstream.status().state === 'connected' ? upstream.client() : undefined;
  if (!client) {
    throw new ApiError(502, 'upstream_unavailable', `upstream "${upstream.settings.name}" is not connected; its present tools cannot be compared with their pins`, {
      param: 'id',
      extraFields: { status: upstream.status() },
    });
  }
  const { items } = await fetchAllPages(upstream, client, 'tools').catch((error: unknown) => {
    throw new ApiError(502, 'upstream_unavailable', `upstream "${upstream.settings.name}" did not list its tools: ${error instanceof Error ? error.message : String(error)}`, { param: 'id' });
  });
  await deps.toolPins.review(upstream, items);
  return { upstream, tools: items };
}

function toolView(pins: ToolPins, upstream: Upstream, tool: Tool) {
  const status = pins.status(upstream.id, tool);
  const pin = pins.pinOf(upstream.id, tool.name);
  return {
    name: tool.name,
    status,
    pinned_at: pin ? new Date(pin.pinnedAt).toISOString() : null,
    ...(pin?.pinnedBy ? { pinned_by: pin.pinnedBy } : {}),
    definition: definitionOf(tool),
    ...(status === 'changed' && pin ? { previous_definition: JSON.parse(pin.definition) as unknown } : {}),
  };
}
