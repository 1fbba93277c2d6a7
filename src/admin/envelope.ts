import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

/** Short categories, as in Bifrost's envelope: a client can branch on them without parsing messages. */
export const ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'conflict_error',
  'rate_limit_error',
  'api_error',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** The body of every /api error, compatible with Bifrost's `BifrostError`. */
export interface ErrorEnvelope {
  event_id: string;
  type: ErrorType;
  /** True when Gatehouse produced the error itself; false when it relays an upstream's answer. */
  is_bifrost_error: boolean;
  status_code: number;
  error: { type: ErrorType; code: string; message: string; param: string | null; event_id: string };
  extra_fields: Record<string, unknown>;
}

const typeByStatus: Record<number, ErrorType> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  429: 'rate_limit_error',
};

function errorTypeFor(status: number): ErrorType {
  return typeByStatus[status] ?? (status < 500 ? 'invalid_request_error' : 'api_error');
}

/** An error meant for the client: its status, code, message and param are sent as they are. */
export class ApiError extends Error {
  readonly type: ErrorType;

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly options: { param?: string | null; headers?: Record<string, string>; extraFields?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.type = errorTypeFor(statusCode);
  }
}

export function envelopeOf(error: ApiError, eventId: string): ErrorEnvelope {
  return {
    event_id: eventId,
    type: error.type,
    is_bifrost_error: true,
    status_code: error.statusCode,
    error: { type: error.type, code: error.code, message: error.message, param: error.options.param ?? null, event_id: eventId },
    extra_fields: error.options.extraFields ?? {},
  };
}

/** Dotted path of the field a zod issue is about, e.g. `user.name`, or null for the body as a whole. */
function zodParam(error: ZodError): string | null {
  const issue = error.issues[0];
  if (!issue) return null;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  return path.length > 0 ? path.map(String).join('.') : null;
}

function zodMessage(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'the request is not valid';
  if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  // The body as a whole: missing (or empty) where this route needs one, or not an object.
  if (issue.code === 'invalid_type' && issue.path.length === 0 && issue.expected === 'object') return 'this request needs a JSON object as its body';
  return issue.message;
}

/** Fastify's own (ajv) schema errors name the field in `instancePath` or, when it is missing, in `missingProperty`. */
function fastifyValidationParam(error: FastifyError): string | null {
  const first = error.validation?.[0];
  if (!first) return null;
  const missing = (first.params as { missingProperty?: unknown } | undefined)?.missingProperty;
  const path = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const param = [path, typeof missing === 'string' ? missing : ''].filter(Boolean).join('.');
  return param || null;
}

/** Fastify's body-parsing refusals, each a client mistake with a fixed answer. */
const parseErrors: Record<string, () => ApiError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: () => new ApiError(400, 'invalid_json', 'the body is not valid JSON'),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new ApiError(413, 'body_too_large', 'the body is larger than this server accepts'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new ApiError(415, 'unsupported_media_type', 'send the body as JSON with content-type: application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new ApiError(400, 'invalid_content_length', 'the content-length header does not match the body'),
};

/**
 * Turns anything thrown while serving an /api request into an ApiError. Only errors known to describe a client
 * mistake keep their details; everything else becomes a generic 500 whose cause stays in the log.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) return new ApiError(400, 'validation_failed', zodMessage(error), { param: zodParam(error) });
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const message = `${fastifyError.validationContext ?? 'request'} ${fastifyError.validation[0]?.message ?? 'is not valid'}`;
    return new ApiError(400, 'validation_failed', message, { param: fastifyValidationParam(error as FastifyError) });
  }
  const known = fastifyError.code ? parseErrors[fastifyError.code] : undefined;
  if (known) return known();
  // A JSON parser other than Fastify's default may throw a bare SyntaxError marked as the client's fault.
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) return parseErrors.FST_ERR_CTP_INVALID_JSON_BODY!();
  // Fastify's remaining client errors (bad URL, aborted body, …) carry fixed, safe messages.
  const status = fastifyError.statusCode;
  if (fastifyError.code?.startsWith('FST_') && status !== undefined && status >= 400 && status < 500) {
    return new ApiError(status, 'bad_request', fastifyError.message ?? 'bad request');
  }
  return new ApiError(500, 'internal_error', 'the server failed to handle this request; quote the event_id when reporting it');
}

export function sendApiError(reply: FastifyReply, error: ApiError, eventId: string = randomUUID()): FastifyReply {
  for (const [name, value] of Object.entries(error.options.headers ?? {})) reply.header(name, value);
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(envelopeOf(error, eventId));
}

/** The one error handler of /api: log with the event id, answer with the envelope, never a stack trace. */
export function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const apiError = toApiError(error);
  const eventId = randomUUID();
  if (apiError.statusCode >= 500) {
    request.log.error({ err: error, event_id: eventId }, 'api request failed');
  } else {
    request.log.info({ event_id: eventId, status: apiError.statusCode, code: apiError.code }, 'api request refused');
  }
  return sendApiError(reply, apiError, eventId);
}

/** Unknown /api paths answer with the envelope too, so clients need one error parser. */
export function apiNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? request.url;
  return apiErrorHandler(new ApiError(404, 'not_found', `no endpoint ${request.method} ${path}`), request, reply);
}
