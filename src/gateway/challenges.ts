import { formatScope, SUPPORTED_SCOPES } from '../oauth/scopes.js';
import type { GuardOutcome } from './guard.js';
import { sendJson, type McpExchange } from './mcp-exchange.js';

/** RFC 9728 §5.1: where a client that was turned away finds how to get a token for /mcp, or for a virtual server's /mcp/{name}. */
export function resourceMetadataUrl(publicUrl: string, virtualServer?: string): string {
  return `${publicUrl}/.well-known/oauth-protected-resource/mcp${virtualServer === undefined ? '' : `/${virtualServer}`}`;
}

/** A `WWW-Authenticate: Bearer …` value; values are quoted strings (RFC 6750 §3), so quotes and backslashes are escaped. */
export function bearerChallenge(params: Record<string, string>): string {
  const quoted = Object.entries(params).map(([name, value]) => `${name}="${value.replace(/["\\]/g, '\\$&')}"`);
  return `Bearer ${quoted.join(', ')}`;
}

type Refusal = Exclude<GuardOutcome, { kind: 'caller' }>;

/**
 * Answers a request the guard refused. 401s name every scope /mcp knows (clients take the challenge's scope as
 * authoritative) and add `error="invalid_token"` only when a token was actually sent (RFC 6750 §3.1).
 */
export function sendGuardRefusal(exchange: McpExchange, publicUrl: string, refusal: Refusal, virtualServer?: string): void {
  const metadata = resourceMetadataUrl(publicUrl, virtualServer);
  const scope = formatScope(SUPPORTED_SCOPES);
  const send = (status: number, challenge: Record<string, string>, body: { error: string; error_description: string }) =>
    sendJson(exchange, status, body, { 'cache-control': 'no-store', 'www-authenticate': bearerChallenge(challenge) });
  switch (refusal.kind) {
    case 'token_in_query':
      return send(400, { error: 'invalid_request', resource_metadata: metadata }, { error: 'invalid_request', error_description: 'send the access token in the Authorization header, never in the URL' });
    case 'no_token':
      return send(401, { resource_metadata: metadata, scope }, { error: 'unauthorized', error_description: 'this endpoint needs an access token: Authorization: Bearer <token>' });
    case 'invalid_token':
      return send(
        401,
        { error: 'invalid_token', error_description: refusal.description, resource_metadata: metadata, scope },
        { error: 'invalid_token', error_description: refusal.description },
      );
  }
}

/**
 * 403 step-up challenge (RFC 6750 §3.1, MCP "Scope Challenge Handling"): one challenge naming every scope the
 * operation needs, so the client can ask for all of them at once.
 */
export function sendInsufficientScope(exchange: McpExchange, publicUrl: string, needed: readonly string[], virtualServer?: string): void {
  const scope = formatScope(needed);
  sendJson(
    exchange,
    403,
    { error: 'insufficient_scope', error_description: `this operation needs the scope ${scope}` },
    { 'cache-control': 'no-store', 'www-authenticate': bearerChallenge({ error: 'insufficient_scope', scope, resource_metadata: resourceMetadataUrl(publicUrl, virtualServer) }) },
  );
}
