import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { ApiKeyService } from '../identity/api-keys.js';
import { authenticateClient, type ClientDirectory } from './clients.js';
import { allowCrossOriginCalls } from './cors.js';
import { OAuthError, oauthErrorHandler } from './errors.js';
import { formBody } from './form-body.js';
import type { GrantService } from './grants.js';
import { identifyToken, introspect, type IntrospectionDeps } from './introspection.js';
import { bearerToken } from '../http/authorization-header.js';

/** RFC 7009 §2.1 / RFC 7662 §2.1 request. Strings only, so a repeated parameter is invalid_request. */
const tokenRequest = z.object({
  token: z.string().min(1),
  // Accepted and not needed: the token's prefix says what it is (RFC 7009 §2.1 allows searching all types).
  token_type_hint: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
});
type TokenRequest = z.infer<typeof tokenRequest>;

/** Both endpoints take a form (RFC 7009 §2.1, RFC 7662 §2.1). */
function formFields(request: FastifyRequest): TokenRequest {
  return tokenRequest.parse(formBody(request));
}

/** What revocation and introspection use besides telling tokens apart: callers' credentials, grant revocation, the clock. */
export interface RevocationDeps extends IntrospectionDeps {
  clients: ClientDirectory;
  apiKeys: Pick<ApiKeyService, 'authenticate'>;
  grants: Pick<GrantService, 'revoke'>;
  clock: Clock;
}

function clientCredentials(request: FastifyRequest, fields: TokenRequest) {
  return { authorization: request.headers.authorization, clientId: fields.client_id, clientSecret: fields.client_secret, ip: request.ip };
}

/**
 * RFC 7662 §2.1: the caller must be authorized to introspect. Either an admin's API key (sees every token) or
 * a confidential client (sees only its own tokens); public clients have no credential worth the name.
 * Returns the client the answer is limited to, or undefined for an admin.
 */
async function introspectionCaller(deps: RevocationDeps, request: FastifyRequest, fields: TokenRequest): Promise<string | undefined> {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer) {
    const found = await deps.apiKeys.authenticate(bearer);
    if (!found || !found.user.isAdmin) {
      throw new OAuthError('invalid_client', 'introspection needs an admin API key or a confidential client', 401, {
        'www-authenticate': 'Bearer realm="gatehouse"',
      });
    }
    return undefined;
  }
  const client = await authenticateClient(clientCredentials(request, fields), deps.clients, deps.keys.tokenHasher, deps.clock());
  if (client.record.authMethod === 'none') {
    throw new OAuthError('invalid_client', 'public clients cannot introspect tokens', 401);
  }
  return client.clientId;
}

/** `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662). */
export const revocationRoutes: FastifyPluginAsync<{ deps: RevocationDeps }> = async (app, { deps }) => {
  app.setErrorHandler(oauthErrorHandler);
  allowCrossOriginCalls(app);

  // Validate, authenticate the client, identify the token, revoke its grant if it is this client's, answer 200.
  app.post('/oauth/revoke', async (request, reply) => {
    reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
    const fields = formFields(request);
    const client = await authenticateClient(clientCredentials(request, fields), deps.clients, deps.keys.tokenHasher, deps.clock());
    const presented = await identifyToken(deps, fields.token);
    // RFC 7009 §2.2: unknown, invalid and other clients' tokens get the same 200, and nothing happens.
    if (presented && presented.clientId === client.clientId) {
      await deps.grants.revoke(presented.grantId, 'revoked by client', { userId: null, ip: request.ip });
    }
    return reply.code(200).send();
  });

  // Validate, authenticate the caller, describe the token within what the caller may see.
  app.post('/oauth/introspect', async (request, reply) => {
    reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
    const fields = formFields(request);
    const callerClientId = await introspectionCaller(deps, request, fields);
    return introspect(deps, fields.token, callerClientId, deps.clock());
  });
};
