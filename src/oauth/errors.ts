import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_token'
  | 'unsupported_token_type'
  | 'login_required'
  | 'consent_required';

const defaultStatus: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  server_error: 500,
  temporarily_unavailable: 503,
};

/** An RFC 6749 error: `description` is for the client developer and never holds a secret. */
export class OAuthError extends Error {
  readonly status: number;
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    status?: number,
    /** Extra response headers, e.g. WWW-Authenticate for invalid_client or Retry-After for 429. */
    readonly headers: Record<string, string> = {},
    /** For the operator's log only, never sent (e.g. why a fetch failed, which may describe the network). */
    readonly logDetail?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.status = status ?? defaultStatus[error] ?? 400;
  }
}

/** RFC 6749 §5.1: answers carrying tokens must not be cached (and, simplest, no answer of the token endpoint). */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** The body of an error answer, per RFC 6749 §5.2. */
export function oauthErrorBody(error: OAuthError): { error: OAuthErrorCode; error_description: string } {
  return { error: error.error, error_description: error.description };
}

/** Writes `{error, error_description}` with no-store caching, per RFC 6749 §5.2. */
export function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  return reply
    .code(error.status)
    .headers({ ...NO_STORE_HEADERS, ...error.headers })
    .send(oauthErrorBody(error));
}

/**
 * What an OAuth endpoint answers a failure with: our OAuthErrors as they are; malformed bodies, duplicate or missing
 * parameters and schema failures as `invalid_request`; anything else as a generic `server_error` (logged). `error`
 * is what the endpoint threw, or one of Fastify's request errors (a `statusCode`, perhaps `validation`).
 */
export function oauthErrorFor(error: unknown, log: Pick<FastifyBaseLogger, 'warn' | 'error'>): OAuthError {
  if (error instanceof OAuthError) {
    if (error.logDetail) log.warn({ error: error.error, detail: error.logDetail }, 'oauth request refused');
    return error;
  }
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const field = issue?.path.join('.') || 'request';
    return new OAuthError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
  }
  const { statusCode, validation, message } = (error ?? {}) as Partial<FastifyError>;
  const status = statusCode ?? 500;
  if (status === 413) return new OAuthError('invalid_request', 'request body too large', 413);
  if (status === 415) return new OAuthError('invalid_request', 'unsupported content type', 415);
  if (status >= 400 && status < 500) return new OAuthError('invalid_request', validation ? `${message}` : 'malformed request');
  log.error({ err: error }, 'oauth endpoint failed');
  return new OAuthError('server_error', 'the server could not handle the request');
}

/** Error handler for OAuth endpoints (oauthErrorFor). */
export function oauthErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendOAuthError(reply, oauthErrorFor(error, request.log));
}
