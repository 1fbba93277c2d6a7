import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { Config } from '../config.js';
import { appHooksOf } from '../http/front-door.js';
import type { RawRoutes } from '../http/raw-routes.js';
import { DEFAULT_BODY_LIMIT } from '../http/request-body.js';
import { registryOf } from '../ops/metrics.js';
import { authenticateClient, type ClientDirectory, type RegisteredClient } from './clients.js';
import { issueClientCredentialsToken } from './client-credentials-grant.js';
import { exchangeAuthorizationCode } from './code-grant.js';
import { JWT_BEARER_GRANT } from './grant-types.js';
import { redeemIdJag } from './id-jag-grant.js';
import { allowCrossOriginCalls } from './cors.js';
import { NO_STORE_HEADERS, OAuthError, oauthErrorHandler } from './errors.js';
import { formBody } from './form-body.js';
import { refreshAccessToken } from './refresh-grant.js';
import { isTokenRequest, TOKEN_ROUTE, tokenFrontDoor } from './token-front-door.js';
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
  /** `trustProxy`: as the app's Fastify has it (the front door reads X-Forwarded-For as Fastify does). */
  config: GrantDeps['config'] & Pick<Config, 'trustProxy'>;
  clients: ClientDirectory;
}

/** One token request, whichever way it came in: its headers, its body as parsed for its content type, the caller's address. */
export interface TokenRequest {
  headers: IncomingHttpHeaders;
  body: unknown;
  ip: string;
}

/** The endpoint's steps from the body on: the token response's JSON, or an OAuthError (or a schema's ZodError) thrown. */
export type TokenEndpoint = (request: TokenRequest) => Promise<string>;

/** Validate, authenticate the client, dispatch on grant_type, count what was issued. */
function tokenEndpoint(deps: TokenRouteDeps, issuedOf: Map<string, { inc(): void }>): TokenEndpoint {
  return async (request) => {
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
    return json;
  };
}

/**
 * POST /oauth/token: validate, authenticate the client, dispatch on grant_type, respond (never cached). A form POST is
 * served by the server's front door (token-front-door.ts), outside Fastify's per-request work; the Fastify route
 * runs the same steps for `app.inject` and answers everything else (preflights, other content types) as before.
 */
export const tokenRoutes: FastifyPluginAsync<{ deps: TokenRouteDeps; rawRoutes?: RawRoutes }> = async (app, { deps, rawRoutes }) => {
  app.setErrorHandler(oauthErrorHandler);
  // RFC 6749 §5.1. A callback hook: Fastify makes no promise for it.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(NO_STORE_HEADERS);
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
  const answer = tokenEndpoint(deps, issuedOf);

  app.post(TOKEN_ROUTE, async (request, reply) => sendTokenResponse(reply, await answer(request)));

  if (!rawRoutes) return;
  const bodyLimit = app.initialConfig.bodyLimit ?? DEFAULT_BODY_LIMIT;
  rawRoutes.mount(isTokenRequest, tokenFrontDoor({ answer, bodyLimit, ...appHooksOf(app, deps.config.trustProxy) }));
};
