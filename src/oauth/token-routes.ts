import type { FastifyPluginAsync } from 'fastify';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { registryOf } from '../ops/metrics.js';
import { authenticateClient, type ClientDirectory, type RegisteredClient } from './clients.js';
import { issueClientCredentialsToken } from './client-credentials-grant.js';
import { exchangeAuthorizationCode } from './code-grant.js';
import { JWT_BEARER_GRANT } from './grant-types.js';
import { redeemIdJag } from './id-jag-grant.js';
import { allowCrossOriginCalls } from './cors.js';
import { OAuthError, oauthErrorHandler } from './errors.js';
import { formBody } from './form-body.js';
import { refreshAccessToken } from './refresh-grant.js';
import { sendTokenResponse, type GrantDeps, type GrantHandler } from './token-response.js';
import { inSpan } from '../ops/tracing.js';

const grantHandlers: Record<string, GrantHandler> = {
  authorization_code: exchangeAuthorizationCode,
  refresh_token: refreshAccessToken,
  client_credentials: issueClientCredentialsToken,
  [JWT_BEARER_GRANT]: redeemIdJag,
};

/** The fields every grant shares; each grant validates its own. Strings only, so duplicates are invalid_request. */
const tokenRequest = z.object({
  grant_type: z.string().min(1),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
});

/** Known grant types the client registered for; unknown ones and unregistered ones get their own errors (RFC 6749 §5.2). */
function grantFor(grantType: string, client: RegisteredClient): GrantHandler {
  const handler = Object.hasOwn(grantHandlers, grantType) ? grantHandlers[grantType] : undefined;
  if (!handler) throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
  if (!client.metadata.grant_types.includes(grantType)) {
    throw new OAuthError('unauthorized_client', `the client is not registered for grant_type ${grantType}`);
  }
  return handler;
}

/** What /oauth/token uses: the client directory to authenticate callers, and what the grants use. */
export interface TokenRouteDeps extends GrantDeps {
  clients: ClientDirectory;
}

/** POST /oauth/token: validate, authenticate the client, dispatch on grant_type, respond (never cached). */
export const tokenRoutes: FastifyPluginAsync<{ deps: TokenRouteDeps }> = async (app, { deps }) => {
  app.setErrorHandler(oauthErrorHandler);
  // RFC 6749 §5.1: every answer carrying tokens (and, simplest, every answer) must not be cached. A callback hook:
  // Fastify makes no promise for it.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
    done();
  });
  allowCrossOriginCalls(app);
  const issued = new Counter({
    name: 'gatehouse_oauth_tokens_issued_total',
    help: 'Token responses issued by /oauth/token, by grant type.',
    labelNames: ['grant_type'] as const,
    registers: [registryOf(app)],
  });
  // One counter child per known grant type, bound once: no label object hashed per request.
  const issuedOf = new Map(Object.keys(grantHandlers).map((grantType) => [grantType, issued.labels({ grant_type: grantType })]));

  app.post('/oauth/token', async (request, reply) => {
    const body = formBody(request);
    const fields = tokenRequest.parse(body);
    // One instant for the whole request: the client's secret expiry and the grant's checks agree.
    const now = deps.clock();
    const client = await authenticateClient(
      { authorization: request.headers.authorization, clientId: fields.client_id, clientSecret: fields.client_secret, ip: request.ip },
      deps.clients,
      deps.keys.tokenHasher,
      now,
    );
    const grant = grantFor(fields.grant_type, client);
    const json = await inSpan('oauth token', { 'oauth.grant_type': fields.grant_type, 'oauth.client_id': client.clientId }, () =>
      grant(deps, client, body, { ip: request.ip, now }),
    );
    // Only known grant types get here (grantFor refused the others).
    issuedOf.get(fields.grant_type)!.inc();
    return sendTokenResponse(reply, json);
  });
};
