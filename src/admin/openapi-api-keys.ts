import { apiKeyIdParams, createApiKeyBody } from './api-keys.js';
import { apiErrors, apiSecurity, bodyErrors, errorResponse, json, listOf, ref, schemaOf, type OpenApiDocument } from './openapi-parts.js';

/** The API key paths (`/api/apikeys*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

export const apiKeyPaths: Paths = {
  '/api/apikeys': {
    get: {
      summary: 'List API keys', tags: ['api keys'], operationId: 'listApiKeys', security: apiSecurity,
      responses: {
        '200': { description: 'All keys, revoked ones included; never the key itself', content: json(listOf('api_keys', 'ApiKey')) },
        ...apiErrors,
      },
    },
    post: {
      summary: 'Create an API key', tags: ['api keys'], operationId: 'createApiKey', security: apiSecurity,
      description: 'The key is in the response under `key` this one time; Gatehouse keeps only a keyed hash of it.',
      requestBody: { required: true, content: json(schemaOf(createApiKeyBody), { name: 'deploy script' }) },
      responses: {
        '201': { description: 'The new key, with its plaintext', content: json(ref('ApiKeyCreated')) },
        ...bodyErrors,
        ...apiErrors,
      },
    },
  },
  '/api/apikeys/{id}': {
    delete: {
      summary: 'Revoke an API key', tags: ['api keys'], operationId: 'revokeApiKey', security: apiSecurity,
      description: 'Takes effect at once. Revoking a revoked key succeeds again.',
      parameters: [{ name: 'id', in: 'path', required: true, schema: schemaOf(apiKeyIdParams.shape.id) }],
      responses: { '204': { description: 'Revoked' }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
};
