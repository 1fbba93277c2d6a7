import { grantIdParam, grantQuery } from './openapi-oauth-grants.js';
import { apiErrors, apiSecurity, errorResponse, json, listOf, ref, type OpenApiDocument } from './openapi-parts.js';

/** What any user may call about themselves (`/api/me*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const ownGrants = 'Any user may call this, admin or not, with their own password or API key; it sees only their own grants.';

export const mePaths: Paths = {
  '/api/me': {
    get: {
      summary: 'The calling user', tags: ['users'], operationId: 'getMe', security: apiSecurity,
      description: 'Any user may call it: who the credentials belong to, with their groups and where the account comes from.',
      responses: { '200': { description: 'The caller', content: json(ref('User')) }, ...apiErrors },
    },
  },
  '/api/me/grants': {
    get: {
      summary: "List the caller's own grants (connected apps)", tags: ['oauth grants'], operationId: 'listMyGrants', security: apiSecurity,
      description: ownGrants,
      parameters: grantQuery(['client_id', 'include_revoked']),
      responses: { '200': { description: "The caller's grants, newest first", content: json(listOf('grants', 'Grant')) }, '400': errorResponse('BadRequest'), ...apiErrors },
    },
  },
  '/api/me/grants/{id}': {
    delete: {
      summary: "Revoke one of the caller's own grants", tags: ['oauth grants'], operationId: 'revokeMyGrant', security: apiSecurity,
      description: `${ownGrants} Another user's grant id answers 404, as an unknown one does.`,
      parameters: grantIdParam,
      responses: { '204': { description: 'Revoked' }, '404': errorResponse('NotFound'), ...apiErrors },
    },
  },
};
