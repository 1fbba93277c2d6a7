import { upstreamInput } from '../upstream/settings.js';
import { upstreamIdParams } from './mcp-clients.js';
import { toolNameParams } from './tool-pins.js';
import { apiErrors, apiSecurity, bodyErrors, errorResponse, isoTime, json, schemaOf, type OpenApiDocument } from './openapi-parts.js';

/** The upstream management paths (`/api/mcp/client*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const conflict = {
  description: '`name_taken`; `managed_by_config`: the upstream is declared in the config file and is changed there; `not_oauth`: an OAuth operation on an upstream that does not use OAuth',
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
    protocol_era: {
      type: 'string', enum: ['stateless', 'session'],
      description: 'While connected: `stateless` when the upstream answered `server/discover` with MCP 2026-07-28 (per-request `_meta`, no session), `session` when it was reached with `initialize` (MCP up to 2025-11-25)',
    },
    protocol_version: { type: 'string', description: 'While connected, where known: the MCP revision spoken with the upstream (`2026-07-28`, `2025-11-25`, …)', example: '2026-07-28' },
  },
};
const rateLimit = { type: 'object', required: ['calls', 'per_seconds'], properties: { calls: { type: 'integer' }, per_seconds: { type: 'integer' } } };
const approvalMode = { type: 'string', enum: ['never', 'destructive', 'always'] };
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
    auth_type: { type: 'string', enum: ['none', 'headers', 'oauth', 'per_user_oauth', 'token_exchange'] }, header_names: { type: 'array', items: { type: 'string' } },
    oauth_config: {
      type: 'object', description: 'The OAuth settings; the client secret is never returned, `has_client_secret` says whether one is stored',
      properties: {
        client_id: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } }, authorize_url: { type: 'string' }, token_url: { type: 'string' },
        registration_url: { type: 'string' }, send_resource: { type: 'boolean' }, has_client_secret: { type: 'boolean' },
      },
    },
    token_exchange: {
      type: 'object', required: ['provider'], description: 'auth_type `token_exchange`: the SSO provider whose IdP exchanges each user\u2019s token (RFC 8693) for this upstream',
      properties: { provider: { type: 'string' }, audience: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } },
    },
    tools_to_execute: { type: 'array', items: { type: 'string' } }, tools_to_skip: { type: 'array', items: { type: 'string' } },
    tool_name_prefix: { type: 'boolean', description: 'false: tools and prompts keep their own names where no other upstream can claim them; absent on upstreams stored before the setting existed (true)' },
    allowed_users: { type: 'array', items: { type: 'string' } }, allowed_groups: { type: 'array', items: { type: 'string' } }, timeout_ms: { type: 'integer' },
    tool_pinning: { type: 'string', enum: ['enforce', 'warn', 'off'], description: 'Absent on upstreams stored before the setting existed (enforce)' },
    new_tools: { type: 'string', enum: ['auto', 'approve'], description: 'Absent on upstreams stored before the setting existed (auto)' },
    rate_limit: rateLimit, tool_rate_limits: { type: 'object', additionalProperties: rateLimit },
    require_approval: { ...approvalMode, description: 'Which calls the calling person approves first; absent on upstreams stored before the setting existed (never)' },
    tool_require_approval: { type: 'object', additionalProperties: approvalMode },
    status, created_at: isoTime, updated_at: isoTime,
  },
};
const settingsBody = (example: unknown) => ({ required: true, content: json(schemaOf(upstreamInput), example) });

const pendingOAuth = {
  type: 'object',
  required: ['status', 'id', 'oauth_config_id', 'authorize_url', 'complete_url', 'status_url', 'expires_at', 'client'],
  description: 'An OAuth upstream waiting for its authorization (Bifrost’s shape, plus `id`, `expires_at` and the upstream as `client`)',
  properties: {
    status: { type: 'string', enum: ['pending_oauth'] },
    id: { type: 'string', description: 'The upstream’s id' },
    oauth_config_id: { type: 'string' },
    authorize_url: {
      type: 'string',
      description: '`oauth`: the upstream’s authorization page. `per_user_oauth`: a Gatehouse link that only the caller, signed in to Gatehouse in that browser, can follow; the authorization becomes the caller’s own connection',
    },
    complete_url: { type: 'string', description: '`POST` it after authorizing (optional: the callback page says when the upstream is connected)' },
    status_url: { type: 'string' },
    expires_at: { ...isoTime, description: 'The authorization must be completed before then' },
    client: upstream,
  },
};
const setupStatus = {
  type: 'object', required: ['id', 'upstream_id', 'status', 'updated_at'],
  properties: {
    id: { type: 'string' }, upstream_id: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'authorized', 'failed'] },
    error: { type: 'string', description: 'When `failed`: which document or step failed, and how (e.g. the upstream refused the code at the callback)' },
    updated_at: isoTime,
  },
};
const successResponse = {
  type: 'object', required: ['status', 'message'], description: 'Bifrost’s SuccessResponse',
  properties: { status: { type: 'string', enum: ['success'] }, message: { type: 'string' } },
  example: { status: 'success', message: 'MCP client connected successfully with OAuth' },
};
const oauthSetupFailed = {
  description: 'Invalid settings, or `oauth_setup_failed`: discovery or registration at the upstream failed; the message names the document and the problem',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
};

const definition = { type: 'object', description: 'name, title, description, inputSchema, outputSchema and annotations, as the upstream lists them' };
const pinnedTool = {
  type: 'object', required: ['name', 'status', 'pinned_at', 'definition'],
  properties: {
    name: { type: 'string', description: 'The tool’s own name at the upstream (without the gateway’s prefix)' },
    status: {
      type: 'string', enum: ['approved', 'changed', 'pending'],
      description: '`approved`: matches its pin; `changed`: differs from its pin (withheld under `enforce`); `pending`: new and not pinned (`new_tools: approve`, or pinning `off`)',
    },
    pinned_at: { ...isoTime, type: ['string', 'null'] }, pinned_by: { type: 'string', description: 'The user who approved it; absent when pinned on first sight' },
    definition: { ...definition, description: 'The definition the upstream presents now' },
    previous_definition: { ...definition, description: 'When `changed`: the pinned (approved) definition' },
  },
};
const toolParams = [...idParam, { name: 'name', in: 'path' as const, required: true, schema: schemaOf(toolNameParams.shape.name) }];
const unavailable = { description: '`upstream_unavailable`: the upstream is not connected or did not list its tools', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } };

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
        '`auth_type` `oauth` (one connection for everyone) and `per_user_oauth` (each user connects their own account) set the upstream up at once ' +
        '(discovery, registration) and answer `pending_oauth` with the URL where the caller authorizes it; if the setup fails nothing is kept. ' +
        '`auth_type` `token_exchange` (with `token_exchange.provider`) needs no setup: each user\u2019s token is obtained by RFC 8693 token exchange at that SSO provider\u2019s IdP.',
      requestBody: settingsBody({ name: 'github', connection_type: 'http', connection_string: 'https://mcp.example.com/mcp', auth_type: 'headers', headers: { Authorization: 'Bearer …' } }),
      responses: {
        '201': { description: 'The new upstream, usually still `connecting`; or, for an OAuth upstream, `pending_oauth`', content: json({ oneOf: [upstream, pendingOAuth] }) },
        ...bodyErrors, '400': oauthSetupFailed, '409': conflict, ...apiErrors,
      },
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
      description:
        'Drops the connection and tries again at once, resetting the backoff; answers when the attempt has finished. ' +
        'An OAuth upstream without working tokens (for `per_user_oauth`: the caller’s) is authorized again instead: the answer is `pending_oauth`.',
      responses: {
        '200': {
          description: 'The status after the attempt, or `pending_oauth`',
          content: json({ oneOf: [{ type: 'object', required: ['id', 'status'], properties: { id: { type: 'string' }, status } }, pendingOAuth] }),
        },
        '400': oauthSetupFailed, '404': errorResponse('NotFound'), '409': conflict, ...apiErrors,
      },
    },
  },
  '/api/mcp/client/{id}/complete-oauth': {
    post: {
      summary: 'Connect an OAuth upstream after its authorization', tags, operationId: 'completeMcpClientOAuth', security: apiSecurity, parameters: idParam,
      description:
        'The id is the upstream’s or its `oauth_config_id`. Reconnects the upstream with its new tokens and answers when the attempt has finished, ' +
        'with Bifrost’s SuccessResponse; the upstream itself is `GET /api/mcp/client/{id}`.',
      responses: {
        '200': { description: 'Connected', content: json(successResponse) },
        '400': {
          description:
            '`oauth_not_authorized`: nobody has completed the authorization yet; `oauth_failed`: the last authorization failed (at the callback, or its setup), ' +
            'the message and `extra_fields.reason` say why',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
        },
        '404': errorResponse('NotFound'),
        '502': { description: '`upstream_unavailable`: authorized, but the upstream did not connect', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } },
        ...apiErrors,
      },
    },
  },
  '/api/mcp/client/{id}/tools': {
    get: {
      summary: 'An upstream’s tools against their pinned definitions', tags, operationId: 'listMcpClientTools', security: apiSecurity, parameters: idParam,
      description: 'Asks the upstream for its tools now. A tool seen for the first time is pinned (unless `new_tools` is `approve` after the first listing).',
      responses: {
        '200': {
          description: 'The upstream’s pinning settings and every tool it lists',
          content: json({
            type: 'object', required: ['tool_pinning', 'new_tools', 'tools'],
            properties: { tool_pinning: { type: 'string', enum: ['enforce', 'warn', 'off'] }, new_tools: { type: 'string', enum: ['auto', 'approve'] }, tools: { type: 'array', items: pinnedTool } },
          }),
        },
        '404': errorResponse('NotFound'), '502': unavailable, ...apiErrors,
      },
    },
  },
  '/api/mcp/client/{id}/tools/{name}/approve': {
    post: {
      summary: 'Approve a tool’s present definition', tags, operationId: 'approveMcpClientTool', security: apiSecurity, parameters: toolParams,
      description: 'Pins the definition the upstream presents now (audited as `tool.approved` with the caller); open MCP sessions are told the tool list changed.',
      responses: { '200': { description: 'The tool, now `approved`', content: json(pinnedTool) }, '404': errorResponse('NotFound'), '502': unavailable, ...apiErrors },
    },
  },
  '/api/oauth/config/{id}/status': {
    get: {
      summary: 'The state of an upstream’s OAuth setup', tags, operationId: 'getOAuthConfigStatus', security: apiSecurity, parameters: idParam,
      responses: { '200': { description: '`pending`, `authorized` or `failed` (with the reason)', content: json(setupStatus) }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
  '/api/oauth/callback': {
    get: {
      summary: 'Where upstream authorization servers send the browser back', tags, operationId: 'upstreamOAuthCallback', security: [],
      description:
        'Not called by API clients. Exchanges the code (the `state` is single-use and expires after 15 minutes) and shows a page saying the upstream is connected. ' +
        'A per-user authorization must come back in the browser of the Gatehouse user it was started for.',
      parameters: [
        { name: 'state', in: 'query' as const, required: true, schema: { type: 'string' } },
        { name: 'code', in: 'query' as const, required: false, schema: { type: 'string' } },
        { name: 'iss', in: 'query' as const, required: false, schema: { type: 'string' } },
        { name: 'error', in: 'query' as const, required: false, schema: { type: 'string' } },
      ],
      responses: { '200': { description: 'An HTML page: connected' }, '400': { description: 'An HTML page: unknown, expired or refused' }, '403': { description: 'An HTML page: another user’s authorization' } },
    },
  },
};
