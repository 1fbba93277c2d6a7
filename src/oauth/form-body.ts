import type { FastifyRequest } from 'fastify';
import { OAuthError } from './errors.js';

/**
 * The token, revocation and introspection endpoints take application/x-www-form-urlencoded only
 * (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1); JSON and anything else is `invalid_request`.
 */
export function formBody(request: Pick<FastifyRequest, 'headers' | 'body'>): unknown {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'the request must be application/x-www-form-urlencoded');
  }
  return request.body ?? {};
}
