import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import { isJsonObject } from '../json-object.js';
import type { OpenedStore } from '../store/index.js';
import {
  clientForRegistrationAccess,
  clientInformation,
  createDynamicClient,
  removeClient,
  replaceClientMetadata,
  type ClientRegistryDeps,
} from './client-registry.js';
import { allowCrossOriginCalls } from './cors.js';
import { OAuthError, oauthErrorHandler } from './errors.js';
import { metadataOf, normaliseClientMetadata, REGISTRATION_PROFILES, registrationPolicyOf, type RegistrationProfile } from './registration.js';
import { registrationLimits } from './registration-limits.js';

/** Client metadata is a few hundred bytes; a far smaller limit than the app's keeps junk cheap to refuse. */
export const REGISTRATION_BODY_LIMIT = 64 * 1024;

const clientParams = z.object({ client_id: z.string().min(1).max(200) });

/**
 * RFC 7591 §3.1: the body is JSON. Other media types (forms included, which the app parses elsewhere) and
 * unparsable JSON are answered `invalid_request` here instead of Fastify's generic errors.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (error: Error | null, value?: unknown) =>
      error ? done(new OAuthError('invalid_request', 'the body is not valid JSON'), undefined) : done(null, value),
    );
  });
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(new OAuthError('invalid_request', 'send the client metadata as application/json'), undefined);
  });
}

/** What registration uses: the clients and their grants, the registration caps, token hashes, the audit, the clock. */
export interface RegistrationDeps {
  config: Pick<Config, 'publicUrl' | 'oauth'>;
  store: Pick<OpenedStore, 'clients' | 'grants' | 'consents' | 'rateWindows' | 'initialAccessTokens'>;
  keys: Pick<KeyRing, 'tokenHasher'>;
  audit: AuditLog;
  clock: Clock;
}

/**
 * Dynamic client registration: `POST /oauth/register` (RFC 7591), Bifrost's `POST /api/oauth/per-user/register`
 * (public clients only) and seed 003's `POST /v1/provider-mcp/oauth/register` (named confidential clients), all
 * outside /api so no API credentials apply, under one policy and one set of caps; and
 * `GET|PUT|DELETE /oauth/register/{client_id}` (RFC 7592) with the registration access token.
 */
export const registrationRoutes: FastifyPluginAsync<{ deps: RegistrationDeps }> = async (app, { deps }) => {
  const { config } = deps;
  const policy = registrationPolicyOf(config.oauth);
  const limits = registrationLimits({
    rateWindows: deps.store.rateWindows,
    initialAccessTokens: deps.store.initialAccessTokens,
    hasher: deps.keys.tokenHasher,
    oauth: config.oauth,
  });
  const registry: ClientRegistryDeps = { store: deps.store, hasher: deps.keys.tokenHasher, audit: deps.audit, publicUrl: config.publicUrl };

  app.setErrorHandler(oauthErrorHandler);
  // Responses carry a client secret and a registration access token: no cache may keep them (RFC 7591 §3.2.1).
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
  });
  allowCrossOriginCalls(app);
  acceptJsonOnly(app);

  /** One registration pipeline; the endpoints differ only in the profile of the client they issue. */
  const register = (profile: RegistrationProfile) => async (request: FastifyRequest, reply: FastifyReply) => {
    const now = deps.clock();
    const metadata = metadataOf(normaliseClientMetadata(request.body, policy, profile)); // validate
    if (config.oauth.registrationPolicy === 'closed') await limits.spendInitialAccessToken(request.headers.authorization, now); // check
    await limits.countRegistration(request.ip, now); // check
    const created = await createDynamicClient(registry, metadata, { ip: request.ip, now }); // act
    return reply.code(201).send(clientInformation(created.record, config.publicUrl, created)); // respond
  };

  /** Step shared by the RFC 7592 routes: the token decides access before anything about the client is read out. */
  async function authorizedClient(request: FastifyRequest) {
    const { client_id: clientId } = clientParams.parse(request.params);
    return clientForRegistrationAccess(registry, clientId, request.headers.authorization);
  }

  app.post('/oauth/register', { bodyLimit: REGISTRATION_BODY_LIMIT }, register(REGISTRATION_PROFILES.rfc7591));
  app.post('/api/oauth/per-user/register', { bodyLimit: REGISTRATION_BODY_LIMIT }, register(REGISTRATION_PROFILES.publicOnly));
  app.post('/v1/provider-mcp/oauth/register', { bodyLimit: REGISTRATION_BODY_LIMIT }, register(REGISTRATION_PROFILES.confidential));

  app.get('/oauth/register/:client_id', async (request) => {
    const { record, registrationAccessToken } = await authorizedClient(request);
    return clientInformation(record, config.publicUrl, { registrationAccessToken });
  });

  app.put('/oauth/register/:client_id', { bodyLimit: REGISTRATION_BODY_LIMIT }, async (request) => {
    const { record, registrationAccessToken } = await authorizedClient(request);
    // An update that leaves the method out keeps the client's own, so a confidential client stays confidential.
    const body = isJsonObject(request.body) ? { token_endpoint_auth_method: record.authMethod, ...request.body } : request.body;
    const updated = await replaceClientMetadata(registry, record, normaliseClientMetadata(body, policy), { ip: request.ip, now: deps.clock() });
    return clientInformation(updated, config.publicUrl, { registrationAccessToken });
  });

  app.delete('/oauth/register/:client_id', async (request, reply) => {
    const { record } = await authorizedClient(request);
    await removeClient(registry, record.clientId, { ip: request.ip, reason: 'client deleted by itself (RFC 7592)', now: deps.clock() });
    return reply.code(204).send();
  });
};
