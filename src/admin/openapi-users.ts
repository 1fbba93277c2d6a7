import { OVERVIEW_WINDOW_MINUTES } from './overview.js';
import { apiErrors, apiSecurity, bodyErrors, errorResponse, json, listOf, ref, schemaOf, type OpenApiDocument } from './openapi-parts.js';
import { createUserBody, resetPasswordBody, updateUserBody, userIdParams } from './users.js';

/** The user paths (`/api/users*`) and `/api/overview`, merged into the document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const tags = ['users'];
const idParam = [{ name: 'id', in: 'path' as const, required: true, schema: schemaOf(userIdParams.shape.id) }];
const refusals = {
  '404': errorResponse('NotFound'),
  '409': {
    description:
      'The change is refused: the last active admin cannot be disabled, demoted or deleted (`last_active_admin`); an SSO user\u2019s ' +
      'password and admin flag belong to the identity provider (`not_local_user`); a service account is changed through /api/service-accounts (`service_account`)',
    content: json(ref('ErrorEnvelope')),
  },
};
const counts = { type: 'object', additionalProperties: { type: 'integer' } };

export const userPaths: Paths = {
  '/api/users/{id}': {
    patch: {
      summary: 'Disable, enable, promote or demote a user', tags, operationId: 'updateUser', security: apiSecurity,
      description: 'Disabling ends the user\u2019s browser sessions; their access tokens and API keys stop working at /mcp and /api at once, and their refresh tokens and authorization codes get `invalid_grant` at /oauth/token. Enabling them again restores all of it. Recorded as `user.updated`.',
      parameters: idParam,
      requestBody: { required: true, content: json(schemaOf(updateUserBody), { disabled: true }) },
      responses: { '200': { description: 'The user as changed', content: json(ref('User')) }, ...refusals, ...bodyErrors, ...apiErrors },
    },
    delete: {
      summary: 'Delete a user', tags, operationId: 'deleteUser', security: apiSecurity,
      description: 'Deletes the user with their sessions, API keys, grants and tokens. The audit keeps their id. Recorded as `user.deleted`.',
      parameters: idParam,
      responses: { '204': { description: 'Deleted' }, ...refusals, ...apiErrors },
    },
  },
  '/api/users/{id}/password': {
    post: {
      summary: 'Set a local user\u2019s password', tags, operationId: 'resetUserPassword', security: apiSecurity,
      description: 'Ends every browser session the user had. Recorded as `user.password_reset` (never the password).',
      parameters: idParam,
      requestBody: { required: true, content: json(schemaOf(resetPasswordBody), { password: 'a new long passphrase' }) },
      responses: { '200': { description: 'The user', content: json(ref('User')) }, ...refusals, ...bodyErrors, ...apiErrors },
    },
  },
  '/api/overview': {
    get: {
      summary: 'The gateway at a glance', tags: ['overview'], operationId: 'getOverview', security: apiSecurity,
      description: `Upstreams by live state, tool calls and errors (every outcome but \`ok\`) and MCP sessions used, over the last ${OVERVIEW_WINDOW_MINUTES} minutes.`,
      responses: {
        '200': {
          description: 'Counts',
          content: json({
            type: 'object', required: ['window_minutes', 'upstreams', 'tool_calls', 'active_sessions'],
            properties: {
              window_minutes: { type: 'integer' },
              upstreams: { type: 'object', required: ['total', 'by_state'], properties: { total: { type: 'integer' }, by_state: counts } },
              tool_calls: {
                type: 'object', required: ['total', 'per_minute', 'errors', 'by_outcome'],
                properties: { total: { type: 'integer' }, per_minute: { type: 'number' }, errors: { type: 'integer' }, by_outcome: counts },
              },
              active_sessions: { type: 'integer', description: 'MCP sessions used within the window, on every replica' },
            },
          }),
        },
        ...apiErrors,
      },
    },
  },
  '/api/users': {
    get: {
      summary: 'List users', tags, operationId: 'listUsers', security: apiSecurity,
      responses: { '200': { description: 'All users, without password hashes', content: json(listOf('users', 'User')) }, ...apiErrors },
    },
    post: {
      summary: 'Create a user', tags, operationId: 'createUser', security: apiSecurity,
      requestBody: {
        required: true,
        content: json(schemaOf(createUserBody), { username: 'alice', password: 'correct horse battery', is_admin: false }),
      },
      responses: {
        '201': { description: 'The new user', content: json(ref('User')) },
        ...bodyErrors,
        '409': errorResponse('Conflict'),
        ...apiErrors,
      },
    },
  },
};
