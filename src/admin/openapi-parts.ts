/** Building blocks of the OpenAPI document, shared by openapi.ts and the per-surface path modules. */
import { z } from 'zod';

/** The slice of OpenAPI 3.1 this document uses, typed so a misspelt key fails the build. */
export type JsonSchema = Record<string, unknown>;
export interface MediaContent {
  [mediaType: string]: { schema: JsonSchema; example?: unknown };
}
export interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: MediaContent;
}
export interface Operation {
  summary: string;
  description?: string;
  tags: string[];
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema; description?: string }[];
  requestBody?: { required: boolean; content: MediaContent };
  responses: Record<string, Response | { $ref: string }>;
}
export type PathItem = Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete' | 'options', Operation>>;
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, Response>;
    securitySchemes: Record<string, Record<string, string>>;
  };
}

/** Request bodies come from the very zod schemas the routes parse with, so the two cannot disagree. */
export function schemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: JsonSchema, example?: unknown): MediaContent => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
export const errorResponse = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** Every /api operation answers these the same way. */
export const apiErrors = {
  '401': errorResponse('Unauthorized'),
  '403': errorResponse('Forbidden'),
  '429': errorResponse('TooManyAttempts'),
  '500': errorResponse('InternalError'),
};
export const bodyErrors = {
  '400': errorResponse('BadRequest'),
  '413': errorResponse('BodyTooLarge'),
  '415': errorResponse('UnsupportedMediaType'),
};
/** The console's browser session is the fourth way in: its cookie together with the session's CSRF token. */
export const apiSecurity: Record<string, string[]>[] = [{ basicAuth: [] }, { bearerApiKey: [] }, { headerApiKey: [] }, { browserSession: [], csrfToken: [] }];

export const isoTime = { type: 'string', format: 'date-time' };
/** The shape of every list the API answers: `{ <key>: [<item>, …] }`. */
export const listOf = (key: string, item: string): JsonSchema => ({
  type: 'object', required: [key], properties: { [key]: { type: 'array', items: ref(item) } },
});
export const retryAfter = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } };

/** Query parameters from the zod schema the route parses its query with. */
export function queryParameters(schema: z.ZodObject): NonNullable<Operation['parameters']> {
  return Object.entries(schema.shape).map(([name, field]) => ({ name, in: 'query' as const, required: false, schema: schemaOf(field as z.ZodType) }));
}
