import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { OAuthSetupError } from '../upstream/oauth/types.js';
import { UpstreamConflict, type UpstreamService } from '../upstream/upstream-service.js';
import { ApiError } from './envelope.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';

export const upstreamIdParams = z.strictObject({ id: z.string().min(1).max(100) });

const notFound = () => new ApiError(404, 'not_found', 'no upstream has this id', { param: 'id' });

/**
 * Store-level refusals become 409s naming the field, e.g. a config-file upstream edited through the API; a failed
 * OAuth setup (a wrong metadata document, a refused registration) is a 400 that says which document and how.
 */
async function orConflict<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof UpstreamConflict) throw new ApiError(409, error.code, error.message, { param: error.code === 'name_taken' ? 'name' : 'id' });
    if (error instanceof OAuthSetupError) {
      throw new ApiError(400, 'oauth_setup_failed', error.message, { param: 'connection_string', extraFields: { step: error.step, ...(error.url ? { url: error.url } : {}) } });
    }
    throw error;
  }
}

/** Bifrost's messages for a completed authorization, per kind of upstream. */
const completedMessage = {
  oauth: 'MCP client connected successfully with OAuth',
  per_user_oauth: 'OAuth configuration verified successfully. Each user will authenticate individually when using this MCP server.',
} as const;

const configIdParams = z.strictObject({ id: z.string().min(1).max(100) });
const callerOf = (request: FastifyRequest) => ({ userId: request.apiCaller?.user.id ?? null });

/** What the upstream routes use: the upstream service, and outbound OAuth for their authorizations. */
export interface McpClientRouteDeps {
  upstreamService: UpstreamService;
  outbound: Pick<OutboundOAuth, 'vault' | 'configOf'>;
}

/**
 * Upstream MCP servers, with Bifrost's paths: `POST /api/mcp/client`, `GET /api/mcp/clients`,
 * `GET|PUT|DELETE /api/mcp/client/{id}`, `POST /api/mcp/client/{id}/reconnect`. Secrets are write-only.
 */
export const mcpClientRoutes: FastifyPluginAsync<{ deps: McpClientRouteDeps }> = async (api, { deps }) => {
  const upstreams = deps.upstreamService;

  api.get('/mcp/clients', async () => ({ clients: await upstreams.list() }));

  api.post('/mcp/client', async (request, reply) => {
    const created = await orConflict(() => upstreams.create(request.body ?? {}, callerOf(request)));
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
    const updated = await orConflict(() => upstreams.update(id, request.body ?? {}, callerOf(request)));
    if (!updated) throw notFound();
    return updated;
  });

  api.delete('/mcp/client/:id', async (request, reply) => {
    const { id } = upstreamIdParams.parse(request.params);
    if (!(await orConflict(() => upstreams.remove(id, callerOf(request))))) throw notFound();
    return reply.code(204).send();
  });

  /** An OAuth upstream without working tokens is not reconnected but authorized again: the answer is `pending_oauth`. */
  api.post('/mcp/client/:id/reconnect', async (request) => {
    const { id } = upstreamIdParams.parse(request.params);
    const current = await upstreams.get(id);
    if (!current) throw notFound();
    if (current.auth_type === 'oauth' || current.auth_type === 'per_user_oauth') {
      const caller = callerOf(request).userId;
      const subject = current.auth_type === 'oauth' ? '' : caller;
      const tokens = subject === null ? { state: 'none' } : await deps.outbound.vault.status(id, subject);
      if (tokens.state !== 'active') return orConflict(() => upstreams.authorize(id, { userId: caller }));
    }
    const status = await upstreams.reconnect(id);
    if (!status) throw notFound();
    return { id, status };
  });

  /**
   * After the admin authorized: connects the upstream with its tokens and answers Bifrost's SuccessResponse
   * (`{status: "success", message}`; the upstream itself is `GET /api/mcp/client/{id}`). The id is the upstream's or
   * its oauth_config_id. 400 while nobody has authorized it yet or when its authorization failed (with the reason),
   * 404 when there is no such OAuth setup.
   */
  api.post('/mcp/client/:id/complete-oauth', async (request) => {
    const { id } = upstreamIdParams.parse(request.params);
    const setup = await deps.outbound.configOf(id);
    const upstream = setup && (await upstreams.get(setup.upstreamId));
    if (!setup || !upstream) throw new ApiError(404, 'not_found', 'no OAuth upstream or oauth_config has this id', { param: 'id' });
    if (setup.status === 'failed') {
      const reason = setup.error ?? 'no reason was recorded';
      throw new ApiError(400, 'oauth_failed', `the authorization of upstream "${upstream.name}" failed: ${reason}. Start a new one with POST /api/mcp/client/${upstream.id}/reconnect`, {
        param: 'id',
        extraFields: { oauth_status: 'failed', reason },
      });
    }
    if (setup.status !== 'authorized') {
      throw new ApiError(400, 'oauth_not_authorized', `upstream "${upstream.name}" is not authorized yet; open its authorize_url and approve access first`, {
        param: 'id',
        extraFields: { oauth_status: setup.status },
      });
    }
    // A reconnect waits for its attempt, which is bounded by the upstream's timeout.
    const status = await upstreams.reconnect(setup.upstreamId);
    if (status?.state !== 'connected') {
      throw new ApiError(502, 'upstream_unavailable', `upstream "${upstream.name}" is authorized but did not connect: ${status?.reason ?? status?.state ?? 'it is gone'}`, {
        param: 'id',
        extraFields: { status },
      });
    }
    return { status: 'success', message: completedMessage[upstream.auth_type === 'per_user_oauth' ? 'per_user_oauth' : 'oauth'] };
  });

  /** Polling the OAuth setup of an upstream (optional: the callback page tells the admin when it is done). */
  api.get('/oauth/config/:id/status', async (request) => {
    const { id } = configIdParams.parse(request.params);
    const setup = await deps.outbound.configOf(id);
    if (!setup) throw new ApiError(404, 'not_found', 'no oauth_config has this id', { param: 'id' });
    return {
      id: setup.id,
      upstream_id: setup.upstreamId,
      status: setup.status,
      ...(setup.error ? { error: setup.error } : {}),
      updated_at: new Date(setup.updatedAt).toISOString(),
    };
  });
};
