import { json, type JsonSchema, type OpenApiDocument } from './openapi-parts.js';

/** The operational paths (`/health`, `/ready`, `/metrics`, `/openapi.json`), merged into the OpenAPI document by openapi.ts. */

type Paths = OpenApiDocument['paths'];

const statusBody = (status: string, more: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: 'object', required: ['status'], properties: { status: { const: status }, ...more },
});

export const operationPaths: Paths = {
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
};
