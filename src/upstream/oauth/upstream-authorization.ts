import { open, seal } from '../../crypto/aead.js';
import { newId } from '../../crypto/random.js';
import type { OutboundStore, UpstreamOAuthConfigRecord, UpstreamStore } from '../../store/index.js';
import { openSecrets, settingsOf } from '../settings.js';
import type { UpstreamSettings } from '../types.js';
import { clientMetadataDocumentUrl, obtainClient, OAUTH_CALLBACK_PATH } from './client-registration.js';
import { discover, probeChallenge } from './discovery.js';
import { refreshTokens, revokeToken } from './token-requests.js';
import {
  FlowRefused,
  OAuthSetupError,
  TokenRequestError,
  type ClientCredentials,
  type ConfiguredOAuth,
  type DiscoveredAuthorization,
  type OutboundHttpOptions,
  type TokenSet,
} from './types.js';

/**
 * What Gatehouse knows and does at one upstream's authorization server: the setup (discovery and registration,
 * stored as the upstream's OAuth config), its client credentials there (kept per issuer, sealed), and the token
 * requests made outside a browser flow: refresh (with one re-registration when the server dropped Gatehouse's)
 * and revocation.
 */

const clientSecretContext = (upstreamId: string, issuer: string) => `upstream-oauth-client:${upstreamId}:${issuer}`;

export interface UpstreamAuthorizationOptions {
  store: OutboundStore & { upstreams: UpstreamStore };
  encryptionKey: Buffer;
  config: { publicUrl: string; allowPrivateNetworks: boolean };
  now: () => number;
}

export function upstreamAuthorization({ store, encryptionKey, config, now }: UpstreamAuthorizationOptions) {
  const redirectUri = `${config.publicUrl}${OAUTH_CALLBACK_PATH}`;
  /**
   * Requests to URLs from the upstream's documents go through the SSRF guard, except on the upstream's own origin,
   * which the admin configured and so is trusted (an internal server may host its authorization server itself).
   */
  const httpFor = (upstreamUrl: string): OutboundHttpOptions => ({
    allowPrivateNetworks: config.allowPrivateNetworks,
    trustedOrigins: [new URL(upstreamUrl).origin],
  });
  const upstreamOf = async (upstreamId: string) => {
    const record = await store.upstreams.find(upstreamId);
    if (!record) throw new FlowRefused('unknown_flow', 'this upstream no longer exists');
    return { record, settings: settingsOf(record) };
  };

  const configuredOf = (upstreamId: string, settings: UpstreamSettings, sealedSecrets: string | null): ConfiguredOAuth => {
    const oauth = settings.oauth_config;
    const secret = openSecrets(encryptionKey, upstreamId, sealedSecrets).oauth_client_secret;
    return {
      ...(oauth?.client_id !== undefined ? { clientId: oauth.client_id } : {}),
      ...(secret !== undefined ? { clientSecret: secret } : {}),
      ...(oauth?.scopes ? { scopes: oauth.scopes } : {}),
      ...(oauth?.authorize_url ? { authorizeUrl: oauth.authorize_url } : {}),
      ...(oauth?.token_url ? { tokenUrl: oauth.token_url } : {}),
      ...(oauth?.registration_url ? { registrationUrl: oauth.registration_url } : {}),
      sendResource: oauth?.send_resource ?? true,
    };
  };

  /** The credentials stored for this upstream at this issuer, secret opened. */
  const storedCredentials = async (upstreamId: string, issuer: string): Promise<ClientCredentials | undefined> => {
    const stored = await store.upstreamOAuthClients.find(upstreamId, issuer);
    if (!stored) return undefined;
    const secret = stored.sealedSecret === null ? undefined : open(encryptionKey, stored.sealedSecret, clientSecretContext(upstreamId, issuer));
    return { clientId: stored.clientId, authMethod: stored.authMethod, source: stored.source, ...(secret !== undefined ? { clientSecret: secret } : {}) };
  };

  /** Gatehouse's credentials at this issuer for this upstream: stored ones, else newly obtained (never another issuer's). */
  const credentialsAt = async (upstreamId: string, discovered: DiscoveredAuthorization, configured: ConfiguredOAuth, http: OutboundHttpOptions): Promise<ClientCredentials> => {
    const stored = await storedCredentials(upstreamId, discovered.issuer);
    if (stored && (configured.clientId === undefined || stored.clientId === configured.clientId)) return stored;
    // No scope in the registration: it is optional (RFC 7591), asked for at each authorization instead, and
    // servers such as oidc-provider refuse registrations naming scopes of a resource rather than their own.
    const client = await obtainClient({ server: discovered.server, configured, metadataDocumentUrl: clientMetadataDocumentUrl(config.publicUrl), redirectUri, http });
    await store.upstreamOAuthClients.save({
      upstreamId,
      issuer: discovered.issuer,
      clientId: client.clientId,
      sealedSecret: client.clientSecret === undefined ? null : seal(encryptionKey, client.clientSecret, clientSecretContext(upstreamId, discovered.issuer)),
      authMethod: client.authMethod,
      source: client.source,
      createdAt: now(),
    });
    return client;
  };

  const saveConfig = async (upstreamId: string, patch: Pick<UpstreamOAuthConfigRecord, 'discovered' | 'status' | 'error'>) => {
    const existing = await store.upstreamOAuthConfigs.findByUpstream(upstreamId);
    const record: UpstreamOAuthConfigRecord = {
      id: existing?.id ?? newId('uoc'),
      upstreamId,
      createdAt: existing?.createdAt ?? now(),
      ...patch,
      discovered: patch.discovered ?? existing?.discovered ?? null,
      updatedAt: now(),
    };
    await store.upstreamOAuthConfigs.save(record);
    return record;
  };

  const discoveredOf = (record: UpstreamOAuthConfigRecord | undefined): DiscoveredAuthorization | undefined =>
    record?.discovered ? (JSON.parse(record.discovered) as DiscoveredAuthorization) : undefined;

  /** Discovery and registration, run afresh for every authorization so that a moved authorization server is followed. */
  const prepare = async (upstreamId: string) => {
    const { record, settings } = await upstreamOf(upstreamId);
    const configured = configuredOf(upstreamId, settings, record.sealedSecrets);
    try {
      const url = settings.connection_string!;
      const challenge = await probeChallenge(url);
      if (!challenge && !configured.authorizeUrl) {
        throw new OAuthSetupError('probe', `the upstream at ${url} answered without asking for authorization (no 401), so it needs no OAuth: use auth_type "none", or give oauth_config.authorize_url and token_url`, url);
      }
      const http = httpFor(settings.connection_string!);
      const discovered = await discover(url, { ...(challenge ? { challenge } : {}), configured, http });
      const client = await credentialsAt(upstreamId, discovered, configured, http);
      const saved = await saveConfig(upstreamId, { discovered: JSON.stringify(discovered), status: 'pending', error: null });
      return { config: saved, discovered, client, configured };
    } catch (error) {
      if (error instanceof OAuthSetupError) await saveConfig(upstreamId, { discovered: null, status: 'failed', error: error.message });
      throw error;
    }
  };

  /** The last setup when there is one (links handed out on tool calls need no fresh discovery), else a new one. */
  const prepared = async (upstreamId: string) => {
    const setup = await store.upstreamOAuthConfigs.findByUpstream(upstreamId);
    const discovered = discoveredOf(setup);
    if (!setup || !discovered) return prepare(upstreamId);
    const { record, settings } = await upstreamOf(upstreamId);
    const configured = configuredOf(upstreamId, settings, record.sealedSecrets);
    return { config: setup, discovered, client: await credentialsAt(upstreamId, discovered, configured, httpFor(settings.connection_string!)), configured };
  };

  const refresh = async (upstreamId: string, issuer: string, refreshToken: string): Promise<TokenSet> => {
    const setup = await store.upstreamOAuthConfigs.findByUpstream(upstreamId);
    const discovered = discoveredOf(setup);
    if (!discovered || discovered.issuer !== issuer) {
      throw new TokenRequestError('invalid_grant', 'the upstream now uses another authorization server; authorize again');
    }
    const { record, settings } = await upstreamOf(upstreamId);
    const configured = configuredOf(upstreamId, settings, record.sealedSecrets);
    const http = httpFor(settings.connection_string!);
    const client = await credentialsAt(upstreamId, discovered, configured, http);
    const resource = configured.sendResource ? discovered.resource : undefined;
    try {
      return await refreshTokens({ server: discovered.server, client, refreshToken, ...(resource ? { resource } : {}), http, now: now() });
    } catch (error) {
      // The upstream dropped a registration it gave us: register once more, so the next authorization works.
      if (error instanceof TokenRequestError && error.kind === 'invalid_client' && client.source === 'dynamic') {
        await store.upstreamOAuthClients.delete(upstreamId, issuer);
        await credentialsAt(upstreamId, discovered, configured, http).catch(() => undefined);
      }
      throw error;
    }
  };

  /** Revokes what the upstream issued (best effort: it may be unreachable or offer no revocation) and forgets it. */
  const revokeAtUpstream = async (upstreamId: string, tokens: TokenSet) => {
    const discovered = discoveredOf(await store.upstreamOAuthConfigs.findByUpstream(upstreamId));
    const client = discovered && (await storedCredentials(upstreamId, discovered.issuer));
    if (!discovered || !client) return;
    const revoke = (token: string, tokenTypeHint: 'refresh_token' | 'access_token') =>
      // The upstream may be deleted already: its resource URL (checked to be on the upstream's origin) names the origin.
      revokeToken({ server: discovered.server, client, token, tokenTypeHint, http: httpFor(discovered.resource) }).catch(() => undefined);
    if (tokens.refreshToken) await revoke(tokens.refreshToken, 'refresh_token');
    await revoke(tokens.accessToken, 'access_token');
  };

  return { redirectUri, httpFor, upstreamOf, configuredOf, credentialsAt, saveConfig, discoveredOf, prepare, prepared, refresh, revokeAtUpstream };
}

export type UpstreamAuthorization = ReturnType<typeof upstreamAuthorization>;
