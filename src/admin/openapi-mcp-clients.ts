import { upstreamInput } from '../upstream/settings.js';
import { upstreamIdParams } from './mcp-clients.js';
import { apiErrors, apiSecurity, bodyErrors, errorResponse, isoTime, json, schemaOf, type OpenApiDocument } from './openapi-parts.js';

/** The upstream management paths (`/api/mcp/client*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const conflict = {
  description: '`name_taken`, or `managed_by_config`: the upstream is declared in the config file and is changed there',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
};
const idParam = [{ name: 'id', in: 'path' as const, required: true, schema: schemaOf(upstreamIdParams.shape.id) }];
const tags = ['upstreams'];

const status = {
  type: 'object', required: ['state'],
  properties: {
    state: { type: 'string', enum: ['connecting', 'connected', 'error', 'needs_auth'] },
    reason: { type: 'string', description: 'Why the upstream is in `error` (or `needs_auth`)' },
    since: { ...isoTime, description: 'When it connected' },
    retry_at: { ...isoTime, description: 'When the next connection attempt is due' },
  },
};
const upstream = {
  type: 'object',
  required: ['id', 'name', 'source', 'connection_type', 'auth_type', 'tools_to_execute', 'tools_to_skip', 'timeout_ms', 'status', 'created_at', 'updated_at'],
  description: 'An upstream MCP server; header and environment values are never returned, only their names',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, source: { type: 'string', enum: ['api', 'config'] },
    connection_type: { type: 'string', enum: ['http', 'sse', 'stdio', 'in_process'] }, connection_string: { type: 'string' },
    stdio_config: {
      type: 'object', properties: { command: { type: 'string' }, args: { type: 'array', items: { type: 'string' } }, env_names: { type: 'array', items: { type: 'string' } } },
    },
    auth_type: { type: 'string', enum: ['none', 'headers'] }, header_names: { type: 'array', items: { type: 'string' } },
    tools_to_execute: { type: 'array', items: { type: 'string' } }, tools_to_skip: { type: 'array', items: { type: 'string' } },
    allowed_users: { type: 'array', items: { type: 'string' } }, timeout_ms: { type: 'integer' },
    status, created_at: isoTime, updated_at: isoTime,
  },
};
const settingsBody = (example: unknown) => ({ required: true, content: json(schemaOf(upstreamInput), example) });

export const mcpClientPaths: Paths = {
  '/api/mcp/clients': {
    get: {
      summary: 'List upstreams', tags, operationId: 'listMcpClients', security: apiSecurity,
      responses: { '200': { description: 'Every upstream with its connection status', content: json({ type: 'object', required: ['clients'], properties: { clients: { type: 'array', items: upstream } } }) }, ...apiErrors },
    },
  },
  '/api/mcp/client': {
    post: {
      summary: 'Add an upstream', tags, operationId: 'createMcpClient', security: apiSecurity,
      description:
        'Takes effect at once: Gatehouse connects (in the background) and tells connected MCP sessions their lists changed. ' +
        '`headers` (auth_type `headers`) and `stdio_config.envs` are stored encrypted and never returned. ' +
        '`oauth` and `per_user_oauth` are refused until outbound OAuth arrives.',
      requestBody: settingsBody({ name: 'github', connection_type: 'http', connection_string: 'https://mcp.example.com/mcp', auth_type: 'headers', headers: { Authorization: 'Bearer …' } }),
      responses: { '201': { description: 'The new upstream, usually still `connecting`', content: json(upstream) }, ...bodyErrors, '409': conflict, ...apiErrors },
    },
  },
  '/api/mcp/client/{id}': {
    get: {
      summary: 'Read an upstream', tags, operationId: 'getMcpClient', security: apiSecurity, parameters: idParam,
      responses: { '200': { description: 'The upstream and its status', content: json(upstream) }, '404': errorResponse('NotFound'), ...apiErrors },
    },
    put: {
      summary: 'Replace an upstream’s settings', tags, operationId: 'updateMcpClient', security: apiSecurity, parameters: idParam,
      description: 'The whole settings object; `headers` and `stdio_config.envs` left out keep their stored values. Reconnects when anything changed.',
      requestBody: settingsBody({ name: 'github', connection_type: 'http', connection_string: 'https://mcp.example.com/mcp', auth_type: 'headers', timeout_ms: 10000 }),
      responses: { '200': { description: 'The updated upstream', content: json(upstream) }, ...bodyErrors, '404': errorResponse('NotFound'), '409': conflict, ...apiErrors },
    },
    delete: {
      summary: 'Remove an upstream', tags, operationId: 'deleteMcpClient', security: apiSecurity, parameters: idParam,
      description: 'Disconnects it at once; its tools leave every session’s list.',
      responses: { '204': { description: 'Removed' }, '404': errorResponse('NotFound'), '409': conflict, ...apiErrors },
    },
  },
  '/api/mcp/client/{id}/reconnect': {
    post: {
      summary: 'Reconnect an upstream now', tags, operationId: 'reconnectMcpClient', security: apiSecurity, parameters: idParam,
      description: 'Drops the connection and tries again at once, resetting the backoff; answers when the attempt has finished.',
      responses: {
        '200': { description: 'The status after the attempt', content: json({ type: 'object', required: ['id', 'status'], properties: { id: { type: 'string' }, status } }) },
        '404': errorResponse('NotFound'), ...apiErrors,
      },
    },
  },
};
