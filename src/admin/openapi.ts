import type { FastifyPluginAsync } from 'fastify';
import { apiKeyIdParams, createApiKeyBody } from './api-keys.js';
import { auditPaths } from './openapi-audit.js';
import { ERROR_TYPES } from './envelope.js';
import { grantIdParams, grantListQuery } from './oauth-grants.js';
import { mcpClientPaths } from './openapi-mcp-clients.js';
import { serviceAccountPaths } from './openapi-service-accounts.js';
import { virtualServerPaths } from './openapi-virtual-servers.js';
import { userPaths } from './openapi-users.js';
import { registrationRequest } from '../oauth/registration.js';
import { clientIdParams, createInitialAccessTokenBody, initialAccessTokenIdParams } from './oauth-clients.js';
import { createUserBody } from './users.js';
import { VERSION } from '../version.js';
import {
  apiErrors,
  apiSecurity,
  bodyErrors,
  errorResponse,
  isoTime,
  json,
  ref,
  schemaOf,
  type JsonSchema,
  type MediaContent,
  type OpenApiDocument,
  type Operation,
  type Response,
} from './openapi-parts.js';

export type { OpenApiDocument } from './openapi-parts.js';

const errorType = { type: 'string', enum: [...ERROR_TYPES] };

const exampleEventId = '9b2f6c1e-3f0a-4d8e-a4c1-2a7f0e5d6b13';
const envelopeExample = {
  event_id: exampleEventId,
  type: 'conflict_error',
  is_bifrost_error: true,
  status_code: 409,
  error: { type: 'conflict_error', code: 'username_taken', message: 'user "alice" exists already', param: 'username', event_id: exampleEventId },
  extra_fields: {},
};

const envelopeResponse = (description: string, headers?: Response['headers']): Response => ({
  description,
  ...(headers ? { headers } : {}),
  content: json(ref('ErrorEnvelope')),
});


const listOf = (key: string, item: string): JsonSchema => ({
  type: 'object', required: [key], properties: { [key]: { type: 'array', items: ref(item) } },
});
const statusBody = (status: string, more: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: 'object', required: ['status'], properties: { status: { const: status }, ...more },
});
const htmlPage: MediaContent = { 'text/html': { schema: { type: 'string' } } };
const retryAfter = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } };
const signInForm: JsonSchema = {
  type: 'object', required: ['username', 'password'],
  properties: { username: { type: 'string' }, password: { type: 'string' }, next: { type: 'string' } },
};

const grantQuery = (names: (keyof typeof grantListQuery.shape)[]): Operation['parameters'] =>
  names.map((name) => ({ name, in: 'query', required: false, schema: schemaOf(grantListQuery.shape[name]) }));
const grantIdParam: Operation['parameters'] = [{ name: 'id', in: 'path', required: true, schema: schemaOf(grantIdParams.shape.id) }];
const ownGrants = 'Any user may call this, admin or not, with their own password or API key; it sees only their own grants.';

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
const clientIdParam: Operation['parameters'] = [{ name: 'id', in: 'path', required: true, schema: schemaOf(clientIdParams.shape.id) }];

export function openApiDocument(version: string): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version,
      description: 'Management API (/api) and operational endpoints of Gatehouse, an MCP gateway that is its own OAuth 2.1 authorization server.',
    },
    paths: {
      ...auditPaths,
      ...mcpClientPaths,
      ...serviceAccountPaths,
      ...virtualServerPaths,
      ...userPaths,
      '/api/users': {
        get: {
          summary: 'List users', tags: ['users'], operationId: 'listUsers', security: apiSecurity,
          responses: { '200': { description: 'All users, without password hashes', content: json(listOf('users', 'User')) }, ...apiErrors },
        },
        post: {
          summary: 'Create a user', tags: ['users'], operationId: 'createUser', security: apiSecurity,
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
      '/health': {
        get: {
          summary: 'Liveness', tags: ['operations'], operationId: 'health',
          responses: {
            '200': { description: 'The server accepts requests; `version` is the package version', content: json(statusBody('ok', { version: { type: 'string' } })) },
          },
        },
      },
      '/ready': {
        get: {
          summary: 'Readiness', tags: ['operations'], operationId: 'ready',
          responses: {
            '200': { description: 'The database answers', content: json(statusBody('ready')) },
            '503': { description: 'The database does not answer', content: json(statusBody('unavailable', { reason: { type: 'string' } })) },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics', tags: ['operations'], operationId: 'metrics',
          responses: {
            '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
            '401': { description: 'GATEHOUSE_METRICS_TOKEN is set and the request does not carry it as `Authorization: Bearer`' },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document', tags: ['operations'], operationId: 'openApiDocument',
          responses: { '200': { description: 'OpenAPI 3.1 document', content: json({ type: 'object' }) } },
        },
      },
      '/login': {
        get: {
          summary: 'Sign-in page', tags: ['browser'], operationId: 'signInPage',
          parameters: [{ name: 'next', in: 'query', required: false, schema: { type: 'string' }, description: 'Local path to return to after signing in' }],
          responses: {
            '200': { description: 'The sign-in form', content: htmlPage },
            '303': { description: 'Already signed in: redirect to `next` or /' },
          },
        },
        post: {
          summary: 'Sign in', tags: ['browser'], operationId: 'signIn',
          description: 'Throttled per account and per client IP; unknown users and wrong passwords get the same answer.',
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: signInForm } } },
          responses: {
            '303': { description: 'Signed in: session cookie set, redirect to `next` or /' },
            '400': { description: 'Missing fields', content: htmlPage },
            '401': { description: 'Wrong username or password', content: htmlPage },
            '403': { description: 'Cross-site form post refused', content: htmlPage },
            '429': { description: 'Too many failed attempts', headers: retryAfter, content: htmlPage },
          },
        },
      },
      '/logout': {
        post: {
          summary: 'Sign out', tags: ['browser'], operationId: 'signOut',
          responses: {
            '303': { description: 'Session ended, redirect to /login' },
            '403': { description: 'Cross-site form post refused', content: htmlPage },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        basicAuth: { type: 'http', scheme: 'basic', description: "An admin's username and password; throttled like the sign-in page" },
        bearerApiKey: { type: 'http', scheme: 'bearer', description: 'An API key (gth_ak_…) of an admin' },
        headerApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key (gth_ak_…) of an admin' },
        browserSession: { type: 'apiKey', in: 'cookie', name: 'gatehouse_session', description: 'The console: an admin\u2019s browser session (`__Host-gatehouse_session` over https), only together with csrfToken' },
        csrfToken: { type: 'apiKey', in: 'header', name: 'x-csrf-token', description: 'The session\u2019s CSRF token, from the console page\u2019s `<meta name="csrf-token">`; a cookie-authenticated request without it is refused (403 `csrf_token_invalid`)' },
        registrationAccessToken: { type: 'http', scheme: 'bearer', description: 'The registration access token (gth_rat_…) issued with the client' },
      },
      schemas: {
        User: {
          type: 'object', required: ['id', 'username', 'is_admin', 'disabled', 'created_at', 'source', 'groups'],
          properties: {
            id: { type: 'string' }, username: { type: 'string' }, is_admin: { type: 'boolean' }, disabled: { type: 'boolean' },
            created_at: isoTime,
            source: { type: 'string', description: '`local`, or `sso:<provider id>` for a user created by company sign-in' },
            groups: { type: 'array', items: { type: 'string' }, description: 'Groups the identity provider gave at the last sign-in; empty for local users' },
          },
        },
        ApiKey: {
          type: 'object', required: ['id', 'name', 'user', 'user_id', 'hint', 'created_at', 'last_used_at', 'revoked'],
          properties: {
            id: { type: 'string' }, name: { type: 'string' }, user: { type: 'string', description: 'Username of the owner' }, user_id: { type: 'string' },
            hint: { type: 'string', description: 'First characters of the key, to tell keys apart' }, created_at: isoTime,
            last_used_at: { oneOf: [isoTime, { type: 'null' }], description: 'Updated at most once a minute' }, revoked: { type: 'boolean' },
          },
        },
        ApiKeyCreated: {
          allOf: [
            ref('ApiKey'),
            { type: 'object', required: ['key'], properties: { key: { type: 'string', description: 'The API key; shown only in this response' } } },
          ],
        },
        Grant: {
          type: 'object',
          required: ['id', 'user', 'client_id', 'client_name', 'scope', 'resource', 'created_at', 'last_used_at', 'expires_at', 'revoked_at', 'revoked_reason'],
          properties: {
            id: { type: 'string' }, user: { type: 'string', description: 'Username of the user who consented' }, client_id: { type: 'string' },
            client_name: { type: ['string', 'null'], description: 'As the client registered it; unverified for dynamically registered clients' },
            scope: { type: 'string' }, resource: { type: 'string', description: 'The protected resource the tokens are bound to' },
            created_at: isoTime, last_used_at: { oneOf: [isoTime, { type: 'null' }] },
            expires_at: { ...isoTime, description: 'End of the refresh chain' },
            revoked_at: { oneOf: [isoTime, { type: 'null' }] }, revoked_reason: { type: ['string', 'null'] },
          },
        },
        ClientMetadata: {
          type: 'object', required: ['redirect_uris', 'token_endpoint_auth_method', 'grant_types', 'response_types'],
          description: 'RFC 7591 §2 metadata as registered; absent fields are left out, never null',
          properties: {
            redirect_uris: { type: 'array', items: { type: 'string' } },
            token_endpoint_auth_method: { type: 'string', enum: ['none', 'client_secret_basic', 'client_secret_post'] },
            grant_types: { type: 'array', items: { type: 'string', enum: ['authorization_code', 'refresh_token'] } },
            response_types: { type: 'array', items: { const: 'code' } },
            client_name: { type: 'string' }, client_uri: { type: 'string' }, logo_uri: { type: 'string' }, tos_uri: { type: 'string' },
            policy_uri: { type: 'string' }, contacts: { type: 'array', items: { type: 'string' } }, software_id: { type: 'string' },
            software_version: { type: 'string' }, application_type: { type: 'string', enum: ['web', 'native'] }, scope: { type: 'string' },
          },
        },
        ClientInformation: {
          allOf: [
            ref('ClientMetadata'),
            {
              type: 'object', required: ['client_id', 'client_id_issued_at', 'registration_access_token', 'registration_client_uri'],
              properties: {
                client_id: { type: 'string' }, client_id_issued_at: { type: 'integer', description: 'Seconds since the epoch' },
                client_secret: { type: 'string', description: 'Confidential clients, at registration only' },
                client_secret_expires_at: { type: 'integer', description: '0: the secret does not expire' },
                registration_access_token: { type: 'string', description: 'Bearer token for /oauth/register/{client_id}' },
                registration_client_uri: { type: 'string' },
              },
            },
          ],
        },
        OAuthClient: {
          type: 'object', required: ['client_id', 'kind', 'token_endpoint_auth_method', 'metadata', 'created_ip', 'created_at', 'updated_at'],
          properties: {
            client_id: { type: 'string' }, kind: { type: 'string', enum: ['dynamic', 'metadata_document', 'service_account'] },
            token_endpoint_auth_method: { type: 'string' }, metadata: ref('ClientMetadata'),
            created_ip: { type: ['string', 'null'] }, created_at: isoTime, updated_at: isoTime,
          },
        },
        InitialAccessToken: {
          type: 'object', required: ['id', 'created_by', 'created_at', 'expires_at', 'used_at', 'revoked_at'],
          properties: {
            id: { type: 'string' }, created_by: { type: ['string', 'null'], description: 'Username of the admin' }, created_at: isoTime,
            expires_at: isoTime, used_at: { oneOf: [isoTime, { type: 'null' }] }, revoked_at: { oneOf: [isoTime, { type: 'null' }] },
          },
        },
        InitialAccessTokenCreated: {
          type: 'object', required: ['id', 'token', 'expires_at'],
          properties: { id: { type: 'string' }, token: { type: 'string', description: 'gth_iat_…; shown only in this response' }, expires_at: isoTime },
        },
        OAuthError: {
          type: 'object', required: ['error', 'error_description'],
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
        },
        ErrorEnvelope: {
          type: 'object', required: ['event_id', 'type', 'is_bifrost_error', 'status_code', 'error', 'extra_fields'],
          properties: {
            event_id: { type: 'string', format: 'uuid', description: 'Also in the server log line for this error' },
            type: errorType,
            is_bifrost_error: { type: 'boolean', description: 'True when Gatehouse produced the error, false when it relays an upstream' },
            status_code: { type: 'integer' },
            error: {
              type: 'object', required: ['type', 'code', 'message', 'param', 'event_id'],
              properties: {
                type: errorType, code: { type: 'string' }, message: { type: 'string' }, param: { type: ['string', 'null'] },
                event_id: { type: 'string', format: 'uuid' },
              },
            },
            extra_fields: { type: 'object' },
          },
          example: envelopeExample,
        },
      },
      responses: {
        BadRequest: envelopeResponse(
          'Malformed JSON (`invalid_json`), a field that fails validation (`validation_failed`, `param` names it; also a missing or empty body ' +
            'where the route needs one: an empty `application/json` body counts as none), ' +
            'or a key for an unknown or disabled user (`unknown_user`, `user_disabled`)',
        ),
        Unauthorized: envelopeResponse('No or bad credentials (`unauthorized`)', {
          'WWW-Authenticate': { description: 'Basic realm="gatehouse"', schema: { type: 'string' } },
        }),
        Forbidden: envelopeResponse('Valid credentials of a user who is not an admin (`forbidden`), or the console\'s session cookie without its CSRF token in `x-csrf-token` (`csrf_token_invalid`)'),
        NotFound: envelopeResponse('No such resource or endpoint (`not_found`)'),
        Conflict: envelopeResponse('The username is taken (`username_taken`)'),
        BodyTooLarge: envelopeResponse('The body is over the configured limit (`body_too_large`)'),
        UnsupportedMediaType: envelopeResponse('The body is not application/json (`unsupported_media_type`)'),
        TooManyAttempts: envelopeResponse('Basic credentials throttled after failed attempts (`too_many_attempts`)', retryAfter),
        InternalError: envelopeResponse('An unexpected failure; the body says only the event_id, the log holds the cause (`internal_error`)'),
      },
    },
  };
}

/** `GET /openapi.json`, without credentials: describing the API reveals nothing a client may not know. */
export const openApiRoute: FastifyPluginAsync = async (app) => {
  const document = openApiDocument(VERSION);
  app.get('/openapi.json', async () => document);
};
