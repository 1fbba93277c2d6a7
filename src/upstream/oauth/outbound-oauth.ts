import { open, seal } from '../../crypto/aead.js';
import type { KeyedHasher } from '../../crypto/keyed-hash.js';
import { newId } from '../../crypto/random.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { OutboundStore, UpstreamOAuthConfigRecord, UpstreamOAuthFlowRecord, UpstreamStore } from '../../store/index.js';
import { finishAuthorization, startAuthorization } from './code-flow.js';
import { firstUsableBearer, type BearerSource } from './bearer-fetch.js';
import { createTokenVault, type RefreshOutcome, type TokenVault } from './token-vault.js';
import { upstreamAuthorization } from './upstream-authorization.js';
import { FlowRefused, OAuthSetupError, TokenRequestError, type TokenSet } from './types.js';

/**
 * Gatehouse as the OAuth client of its upstreams: the authorization flows an admin (shared connection) or a user
 * (per-user connection) goes through, the callback, the token vault that keeps every connection's tokens alive
 * (shared tokens under subject ''), and the events the app follows. The work at each upstream's authorization
 * server (setup, credentials, refresh, revocation) is upstream-authorization.ts's.
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

export interface RefreshReport {
  upstreamId: string;
  subject: string;
  outcome: RefreshOutcome;
}

export type OutboundEvent =
  /** `elsewhere`: completed on another replica (announced to this one, or found in the store). */
  | { kind: 'authorized'; upstreamId: string; subject: string; elsewhere?: boolean }
  | { kind: 'needs_auth'; upstreamId: string; subject: string; reason: string };

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

export function createOutboundOAuth(options: OutboundOAuthOptions) {
  const { store, encryptionKey, stateHasher, config, audit } = options;
  const now = options.now ?? Date.now;
  const { redirectUri, httpFor, upstreamOf, configuredOf, credentialsAt, saveConfig, discoveredOf, prepare, prepared, refresh, revokeAtUpstream } =
    upstreamAuthorization({ store, encryptionKey, config, now });
  const listeners = new Set<(event: OutboundEvent) => void>();
  // Apart from the events: a refresh changes no connection, so the gateway's followers must not react to it.
  const refreshListeners = new Set<(refresh: RefreshReport) => void>();
  const emit = (event: OutboundEvent) => {
    for (const listener of listeners) listener(event);
  };
  /** Authorizations this replica announced itself, so that following the store does not announce them twice. */
  const announcedHere = new Map<string, number>();
  const connectionKey = (upstreamId: string, subject: string) => `${upstreamId}\0${subject}`;
  /** What `followAuthorizations` has seen, by connection: the authorization time it announced or skipped. */
  const followed = new Map<string, number>();
  let followedSince = now();

  const vault: TokenVault = createTokenVault({
    store: store.upstreamTokens,
    encryptionKey,
    refresh,
    refreshMarginMs: config.outboundOAuth.refreshMarginSeconds * 1000,
    now,
    onRefresh: (upstreamId, subject, outcome) => {
      for (const listener of refreshListeners) listener({ upstreamId, subject, outcome });
    },
    onNeedsAuth: (upstreamId, subject, reason) => {
      void audit.record('upstream.needs_auth', { userId: subject || null, detail: { upstream_id: upstreamId, reason } }).catch(() => undefined);
      emit({ kind: 'needs_auth', upstreamId, subject, reason });
    },
  });

  /** The token source of one connection: its tokens in the vault. */
  const vaultBearer = (upstreamId: string, subject: string): BearerSource => ({
    token: () => vault.accessToken(upstreamId, subject),
    renew: (stale) => vault.invalidate(upstreamId, subject, stale),
  });

  const flowSecrets = (flow: UpstreamOAuthFlowRecord): FlowSecrets => JSON.parse(open(encryptionKey, flow.sealed, flowContext(flow.id))) as FlowSecrets;

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
        now: now(),
      });
    } catch (error) {
      if (!(error instanceof OAuthSetupError || error instanceof TokenRequestError)) throw error;
      // The admin polls the setup's status and calls complete-oauth: both say why (a user's own flow is not the setup's).
      if (flow.purpose === 'shared') await saveConfig(flow.upstreamId, { discovered: null, status: 'failed', error: error.message });
      throw new FlowRefused('upstream_refused', error.message);
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

    /** Told of each token refresh at an upstream (metrics, logs); returns the unsubscribe. */
    observeRefreshes(listener: (refresh: RefreshReport) => void): () => void {
      refreshListeners.add(listener);
      return () => refreshListeners.delete(listener);
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
    bearer: vaultBearer,

    /**
     * The token source of a per-user upstream's listing connection: any user's working tokens, so that every
     * user sees the upstream's tools; the subject that worked last is tried first.
     */
    listingBearer(upstreamId: string): BearerSource {
      return firstUsableBearer({
        upstreamId,
        subjects: async () =>
          (await store.upstreamTokens.listForUpstream(upstreamId))
            .filter((row) => row.status === 'active')
            .sort((a, b) => b.updatedAt - a.updatedAt)
            .map((row) => row.subject),
        bearer: (subject) => vaultBearer(upstreamId, subject),
        none: 'no user has connected this upstream yet',
      });
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

    /** An authorization another replica announced: followed at once, and not again when the store is read. */
    authorizedElsewhere(upstreamId: string, subject: string): void {
      announcedHere.set(connectionKey(upstreamId, subject), now());
      emit({ kind: 'authorized', upstreamId, subject, elsewhere: true });
    },

    /**
     * Announces the authorizations completed on other replicas since the last call, read from the shared store (the
     * safety net for announcements this replica missed), so that this replica's sessions of those users hear
     * `tools/list_changed` and its connections pick them up.
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
        emit({ kind: 'authorized', upstreamId: row.upstreamId, subject: row.subject, elsewhere: true });
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
