import { open, seal } from '../../crypto/aead.js';
import type { KeyedHasher } from '../../crypto/keyed-hash.js';
import { newId } from '../../crypto/random.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { OutboundStore, UpstreamOAuthConfigRecord, UpstreamOAuthFlowRecord, UpstreamStore } from '../../store/index.js';
import { openSecrets } from '../settings.js';
import type { UpstreamSettings } from '../types.js';
import { finishAuthorization, startAuthorization } from './authorization.js';
import type { BearerSource } from './bearer-fetch.js';
import { clientMetadataDocumentUrl, obtainClient } from './client-registration.js';
import { discover, probeChallenge } from './discovery.js';
import { refreshTokens, revokeToken } from './token-requests.js';
import { createTokenVault, NeedsAuthorization, type TokenVault } from './token-vault.js';
import {
  OAuthSetupError,
  TokenRequestError,
  type ClientCredentials,
  type ConfiguredOAuth,
  type DiscoveredAuthorization,
  type OutboundHttpOptions,
  type TokenSet,
} from './types.js';

/**
 * Gatehouse as the OAuth client of its upstreams: setting an upstream up (discovery, registration), the
 * authorization flows an admin (shared connection) or a user (per-user connection) goes through, the callback,
 * and the token vault that keeps every connection's tokens alive. Shared tokens are stored under subject ''.
 */

export const SHARED_SUBJECT = '';

/** How far replicas' clocks may disagree when one follows the authorizations another stored. */
const CLOCK_SKEW_MS = 10_000;

export interface OutboundOAuthOptions {
  store: OutboundStore & { upstreams: UpstreamStore };
  encryptionKey: Buffer;
  /** Hashes flow states before they are stored. */
  stateHasher: KeyedHasher;
  config: {
    publicUrl: string;
    allowPrivateNetworks: boolean;
    outboundOAuth: { refreshMarginSeconds: number; flowTtlSeconds: number };
  };
  audit: AuditLog;
  now?: () => number;
}

export type OutboundEvent =
  | { kind: 'authorized'; upstreamId: string; subject: string }
  | { kind: 'needs_auth'; upstreamId: string; subject: string; reason: string };

/**
 * A refusal at the callback or at a connect link, worded for the person in the browser. `then`: the flow's
 * next step, when it was started with one and the refusal came after its state was spent in its user's browser.
 */
export class FlowRefused extends Error {
  constructor(
    readonly code: 'unknown_flow' | 'other_user' | 'sign_in_required' | 'upstream_refused' | 'setup_failed',
    message: string,
    readonly then?: string,
  ) {
    super(message);
  }
}

interface FlowSecrets {
  codeVerifier: string;
  authorizeUrl: string;
  issuer: string;
  resource?: string;
  then?: string;
}

export interface StartedFlow {
  flowId: string;
  authorizeUrl: string;
  expiresAt: number;
}

const flowContext = (id: string) => `upstream-oauth-flow:${id}`;
const clientSecretContext = (upstreamId: string, issuer: string) => `upstream-oauth-client:${upstreamId}:${issuer}`;

export function createOutboundOAuth(options: OutboundOAuthOptions) {
  const { store, encryptionKey, stateHasher, config, audit } = options;
  const now = options.now ?? Date.now;
  /**
   * Requests to URLs from the upstream's documents go through the SSRF guard, except on the upstream's own origin,
   * which the admin configured and so is trusted (an internal server may host its authorization server itself).
   */
  const httpFor = (upstreamUrl: string): OutboundHttpOptions => ({
    allowPrivateNetworks: config.allowPrivateNetworks,
    trustedOrigins: [new URL(upstreamUrl).origin],
  });
  const redirectUri = `${config.publicUrl}/api/oauth/callback`;
  const listeners = new Set<(event: OutboundEvent) => void>();
  const emit = (event: OutboundEvent) => {
    for (const listener of listeners) listener(event);
  };
  /** Authorizations this replica announced itself, so that following the store does not announce them twice. */
  const announcedHere = new Map<string, number>();
  const connectionKey = (upstreamId: string, subject: string) => `${upstreamId}\0${subject}`;
  /** What `followAuthorizations` has seen, by connection: the authorization time it announced or skipped. */
  const followed = new Map<string, number>();
  let followedSince = now();

  const upstreamOf = async (upstreamId: string) => {
    const record = await store.upstreams.find(upstreamId);
    if (!record) throw new FlowRefused('unknown_flow', 'this upstream no longer exists');
    return { record, settings: JSON.parse(record.config) as UpstreamSettings };
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

  /** Gatehouse's credentials at this issuer for this upstream: stored ones, else newly obtained (never another issuer's). */
  const credentialsAt = async (upstreamId: string, discovered: DiscoveredAuthorization, configured: ConfiguredOAuth, http: OutboundHttpOptions): Promise<ClientCredentials> => {
    const stored = await store.upstreamOAuthClients.find(upstreamId, discovered.issuer);
    if (stored && (configured.clientId === undefined || stored.clientId === configured.clientId)) {
      const secret = stored.sealedSecret === null ? undefined : open(encryptionKey, stored.sealedSecret, clientSecretContext(upstreamId, discovered.issuer));
      return { clientId: stored.clientId, authMethod: stored.authMethod, source: stored.source, ...(secret !== undefined ? { clientSecret: secret } : {}) };
    }
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
      return await refreshTokens({ server: discovered.server, client, refreshToken, ...(resource ? { resource } : {}), http });
    } catch (error) {
      // The upstream dropped a registration it gave us: register once more, so the next authorization works.
      if (error instanceof TokenRequestError && error.kind === 'invalid_client' && client.source === 'dynamic') {
        await store.upstreamOAuthClients.delete(upstreamId, issuer);
        await credentialsAt(upstreamId, discovered, configured, http).catch(() => undefined);
      }
      throw error;
    }
  };

  const vault: TokenVault = createTokenVault({
    store: store.upstreamTokens,
    encryptionKey,
    refresh,
    refreshMarginMs: config.outboundOAuth.refreshMarginSeconds * 1000,
    now,
    onNeedsAuth: (upstreamId, subject, reason) => {
      void audit.record('upstream.needs_auth', { userId: subject || null, detail: { upstream_id: upstreamId, reason } }).catch(() => undefined);
      emit({ kind: 'needs_auth', upstreamId, subject, reason });
    },
  });

  const flowSecrets = (flow: UpstreamOAuthFlowRecord): FlowSecrets => JSON.parse(open(encryptionKey, flow.sealed, flowContext(flow.id))) as FlowSecrets;

  /** Revokes what the upstream issued (best effort: it may be unreachable or offer no revocation) and forgets it. */
  const revokeAtUpstream = async (upstreamId: string, tokens: TokenSet) => {
    const discovered = discoveredOf(await store.upstreamOAuthConfigs.findByUpstream(upstreamId));
    const stored = discovered && (await store.upstreamOAuthClients.find(upstreamId, discovered.issuer));
    if (!discovered || !stored) return;
    const secret = stored.sealedSecret === null ? undefined : open(encryptionKey, stored.sealedSecret, clientSecretContext(upstreamId, discovered.issuer));
    const client: ClientCredentials = { clientId: stored.clientId, authMethod: stored.authMethod, source: stored.source, ...(secret ? { clientSecret: secret } : {}) };
    const revoke = (token: string, tokenTypeHint: 'refresh_token' | 'access_token') =>
      // The upstream may be deleted already: its resource URL (checked to be on the upstream's origin) names the origin.
      revokeToken({ server: discovered.server, client, token, tokenTypeHint, http: httpFor(discovered.resource) }).catch(() => undefined);
    if (tokens.refreshToken) await revoke(tokens.refreshToken, 'refresh_token');
    await revoke(tokens.accessToken, 'access_token');
  };

  /** The code exchanged for tokens, which are stored: the callback's work once its flow is known to be this browser's. */
  const exchangeCode = async (flow: UpstreamOAuthFlowRecord, secrets: FlowSecrets, callbackUrl: URL, state: string) => {
    const discovered = discoveredOf(await store.upstreamOAuthConfigs.findByUpstream(flow.upstreamId));
    if (!discovered || discovered.issuer !== secrets.issuer) throw new FlowRefused('setup_failed', 'The upstream was set up again while this authorization was pending. Start it again.');
    const { record, settings } = await upstreamOf(flow.upstreamId);
    const http = httpFor(settings.connection_string!);
    const client = await credentialsAt(flow.upstreamId, discovered, configuredOf(flow.upstreamId, settings, record.sealedSecrets), http);
    let tokens: TokenSet;
    try {
      tokens = await finishAuthorization({
        server: discovered.server,
        client,
        redirectUri,
        callbackUrl,
        expectedState: state,
        codeVerifier: secrets.codeVerifier,
        ...(secrets.resource ? { resource: secrets.resource } : {}),
        http,
      });
    } catch (error) {
      if (error instanceof OAuthSetupError || error instanceof TokenRequestError) throw new FlowRefused('upstream_refused', error.message);
      throw error;
    }
    const subject = flow.purpose === 'shared' ? SHARED_SUBJECT : flow.userId!;
    await vault.save(flow.upstreamId, subject, discovered.issuer, tokens);
    await saveConfig(flow.upstreamId, { discovered: null, status: 'authorized', error: null });
    await audit.record('upstream.authorized', { userId: flow.userId, detail: { upstream_id: flow.upstreamId, connection: flow.purpose } });
    announcedHere.set(connectionKey(flow.upstreamId, subject), now());
    emit({ kind: 'authorized', upstreamId: flow.upstreamId, subject });
  };

  return {
    vault,
    publicUrl: config.publicUrl,
    redirectUri,

    subscribe(listener: (event: OutboundEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /**
     * Starts an authorization of `upstreamId`: for its shared connection, or for `userId`'s own connection.
     * `then`: where the browser goes after the callback instead of its page (kept sealed with the flow).
     */
    async startFlow(
      upstreamId: string,
      purpose: 'shared' | 'per_user',
      userId: string | null,
      { reuseDiscovery = false, then }: { reuseDiscovery?: boolean; then?: string } = {},
    ): Promise<StartedFlow & { configId: string }> {
      const { config: setup, discovered, client, configured } = reuseDiscovery ? await prepared(upstreamId) : await prepare(upstreamId);
      const resource = configured.sendResource ? discovered.resource : undefined;
      const started = await startAuthorization({
        server: discovered.server,
        client,
        redirectUri,
        ...(resource ? { resource } : {}),
        ...(discovered.scope !== undefined ? { scope: discovered.scope } : {}),
      });
      const id = newId('uaf');
      const secrets: FlowSecrets = { codeVerifier: started.codeVerifier, authorizeUrl: started.url, issuer: discovered.issuer, ...(resource ? { resource } : {}), ...(then !== undefined ? { then } : {}) };
      const at = now();
      const expiresAt = at + config.outboundOAuth.flowTtlSeconds * 1000;
      await store.upstreamOAuthFlows.create({
        id,
        stateHash: stateHasher.hash(started.state),
        upstreamId,
        userId,
        purpose,
        sealed: seal(encryptionKey, JSON.stringify(secrets), flowContext(id)),
        createdAt: at,
        expiresAt,
      });
      return { flowId: id, authorizeUrl: started.url, expiresAt, configId: setup.id };
    },

    /** The Gatehouse link a user opens to connect: it only works for the user it was issued for. */
    connectLink: (flowId: string) => `${config.publicUrl}/connect/${encodeURIComponent(flowId)}`,

    /** Where the link sends `userId`'s browser: the upstream's authorization page. */
    async openLink(flowId: string, userId: string): Promise<{ authorizeUrl: string; upstreamId: string }> {
      const flow = await store.upstreamOAuthFlows.find(flowId, now());
      if (!flow) throw new FlowRefused('unknown_flow', 'This link has expired or was already used. Call the tool again for a new one.');
      if (flow.userId !== userId) throw new FlowRefused('other_user', 'This link was issued for another Gatehouse user. Sign in as that user, or ask for your own link.');
      return { authorizeUrl: flowSecrets(flow).authorizeUrl, upstreamId: flow.upstreamId };
    },

    /**
     * The upstream's redirect back: the state is consumed (one use), a per-user flow must come back in the
     * browser of the user it was issued for, then the code is exchanged and the tokens stored.
     */
    async completeCallback(callbackUrl: URL, signedInUserId: string | null): Promise<{ upstreamId: string; purpose: 'shared' | 'per_user'; userId: string | null; then?: string }> {
      const state = callbackUrl.searchParams.get('state');
      const flow = state ? await store.upstreamOAuthFlows.consumeByState(stateHasher.hash(state), now()) : undefined;
      if (!state || !flow) throw new FlowRefused('unknown_flow', 'This authorization is unknown, expired or already completed. Start it again.');
      if (flow.purpose === 'per_user') {
        if (signedInUserId === null) throw new FlowRefused('sign_in_required', 'Sign in to Gatehouse as the user who started this connection, then start it again.');
        if (signedInUserId !== flow.userId) throw new FlowRefused('other_user', 'This authorization was started for another Gatehouse user.');
      }
      const secrets = flowSecrets(flow);
      try {
        await exchangeCode(flow, secrets, callbackUrl, state);
      } catch (error) {
        // The state is spent in its user's browser: a flow started with `then` goes on to its next step even so.
        if (error instanceof FlowRefused && secrets.then !== undefined) throw new FlowRefused(error.code, error.message, secrets.then);
        throw error;
      }
      return { upstreamId: flow.upstreamId, purpose: flow.purpose, userId: flow.userId, ...(secrets.then !== undefined ? { then: secrets.then } : {}) };
    },

    /** The OAuth setup of an upstream, by oauth_config_id or upstream id. */
    async configOf(id: string): Promise<UpstreamOAuthConfigRecord | undefined> {
      return (await store.upstreamOAuthConfigs.find(id)) ?? (await store.upstreamOAuthConfigs.findByUpstream(id));
    },

    /** The token source of one connection. */
    bearer(upstreamId: string, subject: string): BearerSource {
      return { token: () => vault.accessToken(upstreamId, subject), renew: (stale) => vault.invalidate(upstreamId, subject, stale) };
    },

    /**
     * The token source of a per-user upstream's listing connection: any user's working tokens, so that every
     * user sees the upstream's tools; the subject that worked last is tried first.
     */
    listingBearer(upstreamId: string): BearerSource {
      let current: string | undefined;
      const pick = async (): Promise<string> => {
        const candidates = (await store.upstreamTokens.listForUpstream(upstreamId))
          .filter((row) => row.status === 'active')
          .sort((a, b) => Number(b.subject === current) - Number(a.subject === current) || b.updatedAt - a.updatedAt);
        for (const row of candidates) {
          try {
            const token = await vault.accessToken(upstreamId, row.subject);
            current = row.subject;
            return token;
          } catch (error) {
            if (!(error instanceof NeedsAuthorization)) throw error;
          }
        }
        throw new NeedsAuthorization(upstreamId, '', 'no user has connected this upstream yet');
      };
      return {
        token: pick,
        renew: async (stale) => (current === undefined ? pick() : vault.invalidate(upstreamId, current, stale).catch(pick)),
      };
    },

    /** Disconnects one connection: revoked at the upstream when it offers revocation, erased here. */
    async disconnect(upstreamId: string, subject: string): Promise<boolean> {
      const tokens = await vault.forget(upstreamId, subject);
      if (!tokens) return false;
      await revokeAtUpstream(upstreamId, tokens);
      await audit.record('upstream.disconnected', { userId: subject || null, detail: { upstream_id: upstreamId } });
      return true;
    },

    /** Everything of a deleted upstream: its tokens revoked upstream and erased, its registrations and flows dropped. */
    async forgetUpstream(upstreamId: string): Promise<void> {
      for (const row of await store.upstreamTokens.listForUpstream(upstreamId)) {
        const tokens = await vault.forget(upstreamId, row.subject).catch(() => undefined);
        if (tokens) await revokeAtUpstream(upstreamId, tokens);
      }
      await store.upstreamOAuthFlows.deleteForUpstream(upstreamId);
      await store.upstreamOAuthClients.deleteForUpstream(upstreamId);
      await store.upstreamOAuthConfigs.deleteForUpstream(upstreamId);
    },

    /**
     * Announces the authorizations completed on other replicas since the last call (read from the shared store),
     * so that this replica's sessions of those users hear `tools/list_changed` and its connections pick them up.
     */
    async followAuthorizations(): Promise<number> {
      // Read a little behind the last time seen: another replica's clock may lag this one's.
      const rows = await store.upstreamTokens.listAuthorizedSince(followedSince - CLOCK_SKEW_MS, 1000);
      let announced = 0;
      for (const row of rows) {
        followedSince = Math.max(followedSince, row.createdAt);
        const key = connectionKey(row.upstreamId, row.subject);
        if (followed.get(key) === row.createdAt) continue;
        followed.set(key, row.createdAt);
        if ((announcedHere.get(key) ?? -Infinity) >= row.createdAt - CLOCK_SKEW_MS) continue;
        emit({ kind: 'authorized', upstreamId: row.upstreamId, subject: row.subject });
        announced += 1;
      }
      const forgetBefore = followedSince - 2 * CLOCK_SKEW_MS;
      for (const [key, at] of followed) if (at < forgetBefore) followed.delete(key);
      for (const [key, at] of announcedHere) if (at < forgetBefore) announcedHere.delete(key);
      return announced;
    },

    /**
     * Refreshes every connection whose access token is about to expire, used or not, so that connections nobody
     * used for a while (and refresh tokens that expire when idle) keep working. Failures are the vault's to record.
     */
    async refreshDue(): Promise<number> {
      let refreshed = 0;
      const soon = now() + config.outboundOAuth.refreshMarginSeconds * 1000;
      for (const upstream of await store.upstreams.list()) {
        for (const row of await store.upstreamTokens.listForUpstream(upstream.id)) {
          if (row.status !== 'active' || row.expiresAt === null || row.expiresAt > soon) continue;
          const done = await vault.accessToken(upstream.id, row.subject).then(() => true, () => false);
          if (done) refreshed += 1;
        }
      }
      return refreshed;
    },
  };
}

export type OutboundOAuth = ReturnType<typeof createOutboundOAuth>;
