import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { resourceMetadataUrl } from '../gateway/challenges.js';
import { VIRTUAL_SERVER_NAME, virtualServerResource } from '../oauth/resource.js';
import { isUniqueViolation, type VirtualServerRecord, type OpenedStore } from '../store/index.js';
import { ApiError } from './envelope.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';

const name = z.string().regex(VIRTUAL_SERVER_NAME, 'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit (it is the last segment of /mcp/{name})');
const toolNames = z
  .array(z.string().min(1).max(256))
  .max(1000)
  .refine((tools) => new Set(tools).size === tools.length, 'must not repeat a tool')
  .describe('Gateway tool names, as /mcp lists them (e.g. "tickets_search")');
const users = z.array(z.string().min(1).max(64)).max(10_000);
const groups = z.array(z.string().min(1).max(256)).max(10_000);
const description = z.string().max(1000);

export const createVirtualServerBody = z.strictObject({
  name,
  tools: toolNames,
  description: description.optional(),
  allowed_users: users.optional().describe('Usernames that may use it; with allowed_groups, either grants; neither: every user'),
  allowed_groups: groups.optional(),
});
/** PUT: everything but the name, which is the resource identifier of the tokens issued for it and never changes. */
export const replaceVirtualServerBody = createVirtualServerBody.omit({ name: true });
/** PATCH: what is given replaces; null clears description, allowed_users or allowed_groups. */
export const patchVirtualServerBody = z.strictObject({
  tools: toolNames.optional(),
  description: description.nullable().optional(),
  allowed_users: users.nullable().optional(),
  allowed_groups: groups.nullable().optional(),
});

const nameParams = z.object({ name: z.string().max(100) });
const notFound = () => new ApiError(404, 'not_found', 'no virtual server has this name', { param: 'name' });

/** What the virtual server routes use: their store (which announces its writes to every replica), the audit, the clock. */
export interface VirtualServerRouteDeps {
  config: Pick<Config, 'publicUrl'>;
  store: Pick<OpenedStore, 'virtualServers'>;
  audit: AuditLog;
  clock: Clock;
}

/**
 * `GET|POST /api/virtual-servers`, `GET|PUT|PATCH|DELETE /api/virtual-servers/{name}`, for admins. A change is
 * announced to every replica, whose sessions on that virtual server get `notifications/tools/list_changed`.
 */
export const virtualServerRoutes: FastifyPluginAsync<{ deps: VirtualServerRouteDeps }> = async (api, { deps }) => {
  const { virtualServers: store } = deps.store;
  const viewOf = virtualServerView(deps.config.publicUrl);
  const load = async (params: unknown) => {
    const found = await store.find(nameParams.parse(params).name);
    if (!found) throw notFound();
    return found;
  };
  const audit = (kind: 'virtual_server.created' | 'virtual_server.updated' | 'virtual_server.deleted', server: string, userId: string | null) =>
    deps.audit.record(kind, { userId, detail: { name: server } });

  api.get('/virtual-servers', async () => ({ virtual_servers: (await store.list()).map(viewOf) }));

  api.post('/virtual-servers', async (request, reply) => {
    const input = createVirtualServerBody.parse(request.body);
    const now = deps.clock();
    const record: VirtualServerRecord = { name: input.name, createdAt: now, updatedAt: now, ...settingsOf(input) };
    await store.create(record).catch((error: unknown) => {
      throw isUniqueViolation(error) ? new ApiError(409, 'name_taken', `a virtual server named "${input.name}" exists`, { param: 'name' }) : error;
    });
    await audit('virtual_server.created', record.name, request.apiCaller?.user.id ?? null);
    return reply.code(201).send(viewOf(record));
  });

  api.get('/virtual-servers/:name', async (request) => viewOf(await load(request.params)));

  const change = (parse: (body: unknown, current: VirtualServerRecord) => Omit<VirtualServerRecord, 'name' | 'createdAt' | 'updatedAt'>) =>
    async (request: { params: unknown; body: unknown; apiCaller: { user: { id: string } } | null }) => {
      const current = await load(request.params);
      const next: VirtualServerRecord = { ...current, ...parse(request.body, current), updatedAt: deps.clock() };
      if (!(await store.update(next))) throw notFound();
      await audit('virtual_server.updated', next.name, request.apiCaller?.user.id ?? null);
      return viewOf(next);
    };
  api.put('/virtual-servers/:name', change((body) => settingsOf(replaceVirtualServerBody.parse(body))));
  api.patch('/virtual-servers/:name', change((body, current) => patched(patchVirtualServerBody.parse(body), current)));

  api.delete('/virtual-servers/:name', async (request, reply) => {
    const { name: server } = nameParams.parse(request.params);
    if (!(await store.delete(server))) throw notFound();
    await audit('virtual_server.deleted', server, request.apiCaller?.user.id ?? null);
    return reply.code(204).send();
  });
};

type Settings = Pick<VirtualServerRecord, 'tools' | 'description' | 'allowedUsers' | 'allowedGroups'>;

function settingsOf(input: z.infer<typeof replaceVirtualServerBody>): Settings {
  return { tools: input.tools, description: input.description ?? null, allowedUsers: input.allowed_users ?? null, allowedGroups: input.allowed_groups ?? null };
}

function patched(input: z.infer<typeof patchVirtualServerBody>, current: VirtualServerRecord): Settings {
  const pick = <T>(given: T | null | undefined, kept: T | null) => (given === undefined ? kept : given);
  return {
    tools: input.tools ?? current.tools,
    description: pick(input.description, current.description),
    allowedUsers: pick(input.allowed_users, current.allowedUsers),
    allowedGroups: pick(input.allowed_groups, current.allowedGroups),
  };
}

/** A virtual server as the API shows it, with where clients connect (`url`, also the resource its tokens are for) and its metadata. */
function virtualServerView(publicUrl: string) {
  return (record: VirtualServerRecord) => ({
    name: record.name,
    description: record.description,
    tools: record.tools,
    allowed_users: record.allowedUsers,
    allowed_groups: record.allowedGroups,
    url: virtualServerResource(publicUrl, record.name),
    resource_metadata: resourceMetadataUrl(publicUrl, record.name),
    created_at: new Date(record.createdAt).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString(),
  });
}
