import { auditFilterQuery, auditListQuery, securityEventsQuery } from './audit.js';
import { apiErrors, apiSecurity, errorResponse, queryParameters, type OpenApiDocument } from './openapi-parts.js';

/** The tool-call audit paths (`/api/audit*`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const badFilter = errorResponse('BadRequest');
const tags = ['audit'];

const nullable = (type: string) => ({ type: [type, 'null'] });
const auditEntry = {
  type: 'object',
  required: ['id', 'at', 'user', 'user_id', 'client_id', 'upstream', 'upstream_id', 'tool', 'outcome', 'error', 'duration_ms', 'arguments'],
  description: 'One tools/call through the gateway',
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time', description: 'When the call started' },
    user: { ...nullable('string'), description: 'Username; null when the user no longer exists' },
    user_id: nullable('string'),
    client_id: { ...nullable('string'), description: 'The OAuth client; null for calls made with an API key' },
    upstream: { type: 'string', description: "The upstream's name at the time of the call" },
    upstream_id: { type: 'string' },
    tool: { type: 'string', description: "The upstream's own tool name, without the gateway's prefix" },
    outcome: { type: 'string', enum: auditFilterQuery.shape.outcome.unwrap().options },
    error: { ...nullable('string'), description: 'A short reason when the outcome is not `ok` (at most 500 characters)' },
    duration_ms: { type: 'integer' },
    arguments: {
      description:
        'The arguments, only when argument recording is on (`audit.recordArguments`), else null. Values of keys containing one of ' +
        '`audit.redactKeys` (ignoring case and separators) read `[redacted]`; past 8 KB the record is `{truncated, bytes, preview}`.',
    },
  },
};

export const auditPaths: Paths = {
  '/api/audit': {
    get: {
      summary: 'List tool calls', tags, operationId: 'listToolCalls', security: apiSecurity,
      description:
        'Newest first. Filters combine; an unknown username matches nothing. Follow `next_cursor` (null on the last page) to page ' +
        'through every record exactly once.',
      parameters: queryParameters(auditListQuery),
      responses: {
        '200': {
          description: 'One page of matching calls',
          content: {
            'application/json': {
              schema: {
                type: 'object', required: ['entries', 'next_cursor'],
                properties: { entries: { type: 'array', items: auditEntry }, next_cursor: nullable('string') },
              },
            },
          },
        },
        '400': badFilter,
        ...apiErrors,
      },
    },
  },
  '/api/audit/export': {
    get: {
      summary: 'Export tool calls as JSON Lines', tags, operationId: 'exportToolCalls', security: apiSecurity,
      description: 'Every matching call, newest first, one JSON object per line (the entries of `GET /api/audit`), as a download.',
      parameters: queryParameters(auditFilterQuery),
      responses: {
        '200': {
          description: 'JSON Lines',
          headers: { 'Content-Disposition': { description: 'attachment; filename="gatehouse-audit.jsonl"', schema: { type: 'string' } } },
          content: { 'application/x-ndjson': { schema: auditEntry } },
        },
        '400': badFilter,
        ...apiErrors,
      },
    },
  },
  '/api/audit/events': {
    get: {
      summary: 'List security events', tags, operationId: 'listSecurityEvents', security: apiSecurity,
      description:
        'Newest first: client registrations, consents, grants created and revoked, reuse of codes and refresh tokens, and upstream ' +
        'changes (`upstream.created`, `.updated`, `.deleted`, by whom) and connections `upstream.authorized`, `upstream.needs_auth` (with the reason) and `upstream.disconnected`. Never a token or secret.',
      parameters: queryParameters(securityEventsQuery),
      responses: {
        '200': {
          description: 'Matching events',
          content: {
            'application/json': {
              schema: {
                type: 'object', required: ['events'],
                properties: {
                  events: {
                    type: 'array',
                    items: {
                      type: 'object', required: ['id', 'at', 'kind', 'user_id', 'client_id', 'grant_id', 'ip', 'detail'],
                      properties: {
                        id: { type: 'string' }, at: { type: 'string', format: 'date-time' }, kind: { type: 'string' },
                        user_id: nullable('string'), client_id: nullable('string'), grant_id: nullable('string'), ip: nullable('string'),
                        detail: { type: 'object', description: 'Plain facts of the event, e.g. `{upstream_id, reason}`' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        '400': badFilter,
        ...apiErrors,
      },
    },
  },
};
