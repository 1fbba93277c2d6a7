import { ERROR_TYPES } from './envelope.js';
import { isoTime, json, ref, retryAfter, type OpenApiDocument, type Response } from './openapi-parts.js';

/** The document's `components`: security schemes, the schemas and the error responses that paths name by `$ref`. */

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

export const components: OpenApiDocument['components'] = {
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
};
