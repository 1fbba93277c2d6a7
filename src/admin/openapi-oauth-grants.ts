import { grantIdParams, grantListQuery } from './oauth-grants.js';
import { apiErrors, apiSecurity, errorResponse, json, listOf, schemaOf, type OpenApiDocument, type Operation } from './openapi-parts.js';

/** The admin's grant paths (`/api/oauth/grants*`), merged into the OpenAPI document by openapi.ts; openapi-me.ts shares their parameters. */

type Paths = OpenApiDocument['paths'];

export const grantQuery = (names: (keyof typeof grantListQuery.shape)[]): Operation['parameters'] =>
  names.map((name) => ({ name, in: 'query', required: false, schema: schemaOf(grantListQuery.shape[name]) }));
export const grantIdParam: Operation['parameters'] = [{ name: 'id', in: 'path', required: true, schema: schemaOf(grantIdParams.shape.id) }];

export const grantPaths: Paths = {
  '/api/oauth/grants': {
    get: {
      summary: 'List OAuth grants', tags: ['oauth grants'], operationId: 'listOAuthGrants', security: apiSecurity,
      description: 'What each user let each client do. Live grants only unless `include_revoked=true`.',
      parameters: grantQuery(['user', 'client_id', 'include_revoked']),
      responses: { '200': { description: 'Matching grants, newest first', content: json(listOf('grants', 'Grant')) }, '400': errorResponse('BadRequest'), ...apiErrors },
    },
  },
  '/api/oauth/grants/{id}': {
    delete: {
      summary: 'Revoke an OAuth grant', tags: ['oauth grants'], operationId: 'revokeOAuthGrant', security: apiSecurity,
      description: 'Every code, refresh token and access token of the grant stops working at once. Revoking a revoked grant succeeds again.',
      parameters: grantIdParam,
      responses: { '204': { description: 'Revoked' }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
};
