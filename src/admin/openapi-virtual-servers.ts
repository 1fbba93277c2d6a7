import { apiErrors, apiSecurity, bodyErrors, errorResponse, isoTime, json, schemaOf, type OpenApiDocument } from './openapi-parts.js';
import { createVirtualServerBody, patchVirtualServerBody, replaceVirtualServerBody } from './virtual-servers.js';

/** The virtual server paths (`/api/virtual-servers*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const tags = ['virtual servers'];
const nameParam = [{ name: 'name', in: 'path' as const, required: true, schema: { type: 'string' } }];
const stringsOrNull = { type: ['array', 'null'], items: { type: 'string' } };

const virtualServer = {
  type: 'object',
  required: ['name', 'description', 'tools', 'allowed_users', 'allowed_groups', 'url', 'resource_metadata', 'created_at', 'updated_at'],
  properties: {
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    tools: { type: 'array', items: { type: 'string' }, description: 'Gateway tool names it lists and lets call' },
    allowed_users: stringsOrNull,
    allowed_groups: stringsOrNull,
    url: { type: 'string', description: 'Where MCP clients connect: `<public URL>/mcp/{name}`, also the `resource` (token audience) of its tokens' },
    resource_metadata: { type: 'string', description: 'Its RFC 9728 protected resource metadata' },
    created_at: isoTime,
    updated_at: isoTime,
  },
};
const example = { name: 'support', tools: ['tickets_search', 'tickets_comment', 'wiki_search'], description: 'What the support agents need', allowed_groups: ['support'] };
const changed = { description: 'The virtual server as changed; its open sessions get notifications/tools/list_changed', content: json(virtualServer) };
const notFound = { '404': errorResponse('NotFound') };

export const virtualServerPaths: Paths = {
  '/api/virtual-servers': {
    get: {
      summary: 'List virtual servers', tags, operationId: 'listVirtualServers', security: apiSecurity,
      responses: { '200': { description: 'Every virtual server', content: json({ type: 'object', required: ['virtual_servers'], properties: { virtual_servers: { type: 'array', items: virtualServer } } }) }, ...apiErrors },
    },
    post: {
      summary: 'Create a virtual server', tags, operationId: 'createVirtualServer', security: apiSecurity,
      description:
        'A curated tool set served at `/mcp/{name}`: a protected resource of its own (tokens for it are requested with `resource=<public URL>/mcp/{name}`) that lists and calls only the named gateway tools, for the users and groups it allows. Upstream access, pins, approvals and quotas still apply. Names of tools no upstream lists are kept and simply not shown.',
      requestBody: { required: true, content: json(schemaOf(createVirtualServerBody), example) },
      responses: { '201': { description: 'Created', content: json(virtualServer) }, '409': errorResponse('Conflict'), ...bodyErrors, ...apiErrors },
    },
  },
  '/api/virtual-servers/{name}': {
    get: {
      summary: 'Show a virtual server', tags, operationId: 'getVirtualServer', security: apiSecurity, parameters: nameParam,
      responses: { '200': { description: 'The virtual server', content: json(virtualServer) }, ...notFound, ...apiErrors },
    },
    put: {
      summary: 'Replace a virtual server\u2019s settings', tags, operationId: 'replaceVirtualServer', security: apiSecurity, parameters: nameParam,
      description: 'Every field but the name (it names the resource its tokens are for, so it never changes); what is left out is cleared.',
      requestBody: { required: true, content: json(schemaOf(replaceVirtualServerBody)) },
      responses: { '200': changed, ...notFound, ...bodyErrors, ...apiErrors },
    },
    patch: {
      summary: 'Change some of a virtual server\u2019s settings', tags, operationId: 'patchVirtualServer', security: apiSecurity, parameters: nameParam,
      description: 'The fields given replace the present ones; `null` clears `description`, `allowed_users` or `allowed_groups`.',
      requestBody: { required: true, content: json(schemaOf(patchVirtualServerBody), { tools: ['tickets_search'] }) },
      responses: { '200': changed, ...notFound, ...bodyErrors, ...apiErrors },
    },
    delete: {
      summary: 'Delete a virtual server', tags, operationId: 'deleteVirtualServer', security: apiSecurity, parameters: nameParam,
      description: '`/mcp/{name}` answers 404 from then on, on every replica; tokens issued for it are good nowhere else.',
      responses: { '204': { description: 'Deleted' }, ...notFound, ...apiErrors },
    },
  },
};
