import { apiErrors, apiSecurity, bodyErrors, errorResponse, isoTime, json, schemaOf, type OpenApiDocument } from './openapi-parts.js';
import { createServiceAccountBody } from './service-accounts.js';

/** The service account paths (`/api/service-accounts*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const tags = ['service accounts'];
const idParam = [{ name: 'id', in: 'path' as const, required: true, schema: { type: 'string' } }];
const strings = { type: 'array', items: { type: 'string' } };

const serviceAccount = {
  type: 'object',
  required: ['id', 'name', 'client_id', 'groups', 'scopes', 'created_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string', description: 'Also its username in policies (`allowed_users`) and the audit' },
    client_id: { type: 'string', description: 'For `grant_type=client_credentials` at /oauth/token' },
    groups: { ...strings, description: 'For upstreams\u2019 `allowed_groups`' },
    scopes: { ...strings, description: 'The most its tokens may carry' },
    created_at: isoTime,
  },
};
const withSecret = {
  ...serviceAccount,
  required: [...serviceAccount.required, 'client_secret'],
  properties: { ...serviceAccount.properties, client_secret: { type: 'string', description: 'Shown this once; only its keyed hash is stored' } },
};

export const serviceAccountPaths: Paths = {
  '/api/service-accounts': {
    get: {
      summary: 'List service accounts', tags, operationId: 'listServiceAccounts', security: apiSecurity,
      responses: { '200': { description: 'Every service account, never a secret', content: json({ type: 'object', required: ['service_accounts'], properties: { service_accounts: { type: 'array', items: serviceAccount } } }) }, ...apiErrors },
    },
    post: {
      summary: 'Create a service account', tags, operationId: 'createServiceAccount', security: apiSecurity,
      description: 'A machine identity that gets access tokens for /mcp with `grant_type=client_credentials` (client_secret_basic or client_secret_post, `resource=<public URL>/mcp`). `scopes` defaults to all of /mcp\u2019s; the name must not be taken by a user.',
      requestBody: { required: true, content: json(schemaOf(createServiceAccountBody), { name: 'nightly-reports', groups: ['reporting'], scopes: ['mcp:read'] }) },
      responses: { '201': { description: 'Created, with its secret', content: json(withSecret) }, '409': errorResponse('Conflict'), ...bodyErrors, ...apiErrors },
    },
  },
  '/api/service-accounts/{id}/rotate-secret': {
    post: {
      summary: 'Give a service account a new secret', tags, operationId: 'rotateServiceAccountSecret', security: apiSecurity,
      description: 'The old secret stops working at once; tokens already issued keep working until they expire.',
      parameters: idParam,
      responses: { '200': { description: 'The account with its new secret', content: json(withSecret) }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
  '/api/service-accounts/{id}': {
    delete: {
      summary: 'Delete a service account', tags, operationId: 'deleteServiceAccount', security: apiSecurity,
      description: 'Its client, its user and its grants are deleted: its access tokens stop working at /mcp at once.',
      parameters: idParam,
      responses: { '204': { description: 'Deleted' }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
};
