import { clientIdParams, createInitialAccessTokenBody, initialAccessTokenIdParams } from './oauth-clients.js';
import { apiErrors, apiSecurity, bodyErrors, errorResponse, json, listOf, ref, schemaOf, type OpenApiDocument, type Operation } from './openapi-parts.js';

/** The OAuth client and initial access token paths (`/api/oauth/clients*`, `/api/oauth/initial-access-tokens*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const clientIdParam: Operation['parameters'] = [{ name: 'id', in: 'path', required: true, schema: schemaOf(clientIdParams.shape.id) }];

export const oauthClientPaths: Paths = {
  '/api/oauth/clients': {
    get: {
      summary: 'List OAuth clients', tags: ['oauth clients'], operationId: 'listOAuthClients', security: apiSecurity,
      description: 'Dynamically registered clients and cached client metadata documents; never a secret or token hash.',
      responses: { '200': { description: 'All clients, oldest first', content: json(listOf('clients', 'OAuthClient')) }, ...apiErrors },
    },
  },
  '/api/oauth/clients/{id}': {
    get: {
      summary: 'Show an OAuth client', tags: ['oauth clients'], operationId: 'getOAuthClient', security: apiSecurity, parameters: clientIdParam,
      responses: { '200': { description: 'The client', content: json(ref('OAuthClient')) }, '404': errorResponse('NotFound'), ...apiErrors },
    },
    delete: {
      summary: 'Delete an OAuth client', tags: ['oauth clients'], operationId: 'deleteOAuthClient', security: apiSecurity, parameters: clientIdParam,
      description: 'Revokes all its grants (their tokens stop at once), forgets its consents, then deletes it.',
      responses: { '204': { description: 'Deleted' }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
  '/api/oauth/initial-access-tokens': {
    get: {
      summary: 'List initial access tokens', tags: ['oauth clients'], operationId: 'listInitialAccessTokens', security: apiSecurity,
      responses: { '200': { description: 'All tokens, never the token itself', content: json(listOf('initial_access_tokens', 'InitialAccessToken')) }, ...apiErrors },
    },
    post: {
      summary: 'Create an initial access token', tags: ['oauth clients'], operationId: 'createInitialAccessToken', security: apiSecurity,
      description: 'For the `closed` registration policy: good for one registration. The token is in this response only.',
      requestBody: { required: false, content: json(schemaOf(createInitialAccessTokenBody), { expires_in: 3600 }) },
      responses: { '201': { description: 'The new token', content: json(ref('InitialAccessTokenCreated')) }, ...bodyErrors, ...apiErrors },
    },
  },
  '/api/oauth/initial-access-tokens/{id}': {
    delete: {
      summary: 'Revoke an initial access token', tags: ['oauth clients'], operationId: 'revokeInitialAccessToken', security: apiSecurity,
      parameters: [{ name: 'id', in: 'path', required: true, schema: schemaOf(initialAccessTokenIdParams.shape.id) }],
      responses: { '204': { description: 'Revoked (again, if it was)' }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
};
