import { registrationRequest } from '../oauth/registration.js';
import { json, ref, retryAfter, schemaOf, type OpenApiDocument, type Operation, type Response } from './openapi-parts.js';

/** Dynamic client registration: RFC 7591 at its three paths, RFC 7592 at `/oauth/register/{client_id}`; merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

// OAuth endpoints answer RFC 6749 errors, not the envelope.
const oauthError = (description: string, headers?: Response['headers']): Response => ({
  description, ...(headers ? { headers } : {}), content: json(ref('OAuthError')),
});
const registrationBody = { required: true, content: json(schemaOf(registrationRequest), { redirect_uris: ['http://localhost:54321/callback'], client_name: 'My MCP client' }) };
const registrationErrors = {
  '400': oauthError('`invalid_redirect_uri` (names the refused URI), `invalid_client_metadata` or `invalid_request` (RFC 7591 §3.2.2)'),
  '413': oauthError('The body is over 64 KiB (`invalid_request`)'),
};
/** The registration endpoints share everything but which clients they issue (`clients`, one sentence). */
const registerOperation = (operationId: string, summary: string, clients: string): Operation => ({
  summary, tags: ['oauth registration'], operationId,
  description:
    `RFC 7591 dynamic client registration, open to anyone (no API credentials), cross-origin callable. ${clients} ` +
    'The response always states the granted `scope`. The `strict` policy takes 1 to 5 redirect URIs and public clients only; the `closed` policy needs ' +
    '`Authorization: Bearer <initial access token>`; registrations are capped per client address and overall per UTC day, all endpoints together.',
  requestBody: registrationBody,
  responses: {
    '201': { description: 'The registered client, its registration access token and, for confidential clients, its secret', content: json(ref('ClientInformation')) },
    ...registrationErrors,
    '401': oauthError('Closed policy: no or a spent initial access token (`invalid_token`)'),
    '429': oauthError('A daily registration cap is reached (`invalid_request`)', retryAfter),
  },
});
const registrationAccess: Pick<Operation, 'parameters' | 'security'> = {
  parameters: [{ name: 'client_id', in: 'path', required: true, schema: { type: 'string' } }],
  security: [{ registrationAccessToken: [] }],
};
const wrongRegistrationToken = { '401': oauthError('No or a wrong registration access token, or no such client: the same answer (`invalid_token`)') };

export const registrationPaths: Paths = {
  '/oauth/register': {
    post: registerOperation('registerClient', 'Register an OAuth client', 'Public clients unless `token_endpoint_auth_method` asks for a secret, which is returned this once.'),
  },
  '/v1/provider-mcp/oauth/register': {
    post: registerOperation(
      'registerConfidentialClient', 'Register a confidential OAuth client (seed 003 path)',
      '`client_name` is required. Confidential clients only: `token_endpoint_auth_method` is `client_secret_basic` unless `client_secret_post` is asked for ' +
        '(`none` is refused with `invalid_client_metadata`); the secret is returned this once, with `client_secret_expires_at: 0`.',
    ),
  },
  '/api/oauth/per-user/register': {
    post: registerOperation(
      'registerClientBifrostAlias', 'Register an OAuth client (Bifrost path)',
      'Public clients only: a request for a secret is registered with `token_endpoint_auth_method: none` and gets no secret.',
    ),
    options: {
      summary: 'CORS preflight', tags: ['oauth registration'], operationId: 'registerClientBifrostAliasPreflight',
      responses: { '204': { description: 'Allowed methods and headers for cross-origin calls' } },
    },
  },
  '/oauth/register/{client_id}': {
    get: {
      summary: 'Read a registration (RFC 7592)', tags: ['oauth registration'], operationId: 'readClientRegistration', ...registrationAccess,
      responses: { '200': { description: 'The client as registered; never its secret', content: json(ref('ClientInformation')) }, ...wrongRegistrationToken },
    },
    put: {
      summary: 'Replace a registration (RFC 7592)', tags: ['oauth registration'], operationId: 'updateClientRegistration', ...registrationAccess,
      description: 'Same rules as registering; `token_endpoint_auth_method` cannot change and a confidential client keeps its secret.',
      requestBody: registrationBody,
      responses: { '200': { description: 'The updated client', content: json(ref('ClientInformation')) }, ...registrationErrors, ...wrongRegistrationToken },
    },
    delete: {
      summary: 'Delete a registration (RFC 7592)', tags: ['oauth registration'], operationId: 'deleteClientRegistration', ...registrationAccess,
      responses: { '204': { description: 'Deleted; its grants are revoked' }, ...wrongRegistrationToken },
    },
  },
};
