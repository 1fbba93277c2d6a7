/** Records and store contracts of outbound OAuth (Gatehouse as the OAuth client of upstreams). Times are epoch ms. */

/** An upstream's OAuth setup: what the admin configured and what discovery found. One per OAuth upstream. */
export interface UpstreamOAuthConfigRecord {
  /** The `oauth_config_id` of the API. */
  id: string;
  upstreamId: string;
  /** JSON of the discovered authorization: resource, issuer, authorization server metadata, chosen scope; null until discovered. */
  discovered: string | null;
  status: 'pending' | 'authorized' | 'failed';
  /** Why the last setup step failed (which document was wrong and how); null otherwise. */
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface UpstreamOAuthConfigStore {
  find(id: string): Promise<UpstreamOAuthConfigRecord | undefined>;
  findByUpstream(upstreamId: string): Promise<UpstreamOAuthConfigRecord | undefined>;
  /** Insert or replace by id. */
  save(record: UpstreamOAuthConfigRecord): Promise<void>;
  deleteForUpstream(upstreamId: string): Promise<boolean>;
}

/** Gatehouse's client credentials at one authorization server, for one upstream: never used at another issuer. */
export interface UpstreamOAuthClientRecord {
  upstreamId: string;
  issuer: string;
  clientId: string;
  /** AEAD-sealed client secret, or null for a public client. */
  sealedSecret: string | null;
  authMethod: 'none' | 'client_secret_basic' | 'client_secret_post';
  /** configured by the admin, Gatehouse's metadata document URL, or RFC 7591 registration. */
  source: 'configured' | 'metadata_document' | 'dynamic';
  createdAt: number;
}

export interface UpstreamOAuthClientStore {
  find(upstreamId: string, issuer: string): Promise<UpstreamOAuthClientRecord | undefined>;
  /** Insert or replace on (upstreamId, issuer). */
  save(record: UpstreamOAuthClientRecord): Promise<void>;
  delete(upstreamId: string, issuer: string): Promise<boolean>;
  deleteForUpstream(upstreamId: string): Promise<number>;
}

/**
 * A pending upstream authorization (15 minutes), started by an admin (shared) or for one user (per-user link).
 * Its `state` is stored only as a keyed hash; PKCE verifier and the authorization URL are sealed.
 */
export interface UpstreamOAuthFlowRecord {
  /** Also the link id of a per-user connect link and the elicitation id. */
  id: string;
  stateHash: string;
  upstreamId: string;
  /** The Gatehouse user the flow was issued for (the admin who started a shared one, or the end user). */
  userId: string | null;
  /** `shared`: the result is the upstream's one connection; `per_user`: the result is userId's connection. */
  purpose: 'shared' | 'per_user';
  /** Sealed JSON: code verifier, authorization URL, issuer, client id, redirect URI, resource, scope. */
  sealed: string;
  createdAt: number;
  expiresAt: number;
}

export interface UpstreamOAuthFlowStore {
  create(flow: UpstreamOAuthFlowRecord): Promise<void>;
  /** An unexpired flow by id, not consumed. */
  find(id: string, now: number): Promise<UpstreamOAuthFlowRecord | undefined>;
  /** Deletes and returns the unexpired flow with this state hash: a state is good for one callback only. */
  consumeByState(stateHash: string, now: number): Promise<UpstreamOAuthFlowRecord | undefined>;
  deleteForUpstream(upstreamId: string): Promise<number>;
}

/** Tokens of one upstream connection: the shared one (subject '') or one user's (subject = user id). */
export interface UpstreamTokenRecord {
  upstreamId: string;
  /** '' for the shared connection, else the Gatehouse user id. */
  subject: string;
  /** The issuer that issued them: tokens never go to another authorization server. */
  issuer: string;
  /** Sealed JSON of the token set (access token, refresh token, type, scope). */
  sealed: string;
  /** When the access token expires; null when the server did not say. */
  expiresAt: number | null;
  status: 'active' | 'needs_auth';
  /** Why it needs authorization again (e.g. the refresh token was revoked); null when active. */
  reason: string | null;
  /** Bumped on every write: refreshes compare-and-set on it. */
  version: number;
  /** A replica refreshing these tokens holds this lease until then; others wait and re-read. */
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface UpstreamTokenStore {
  find(upstreamId: string, subject: string): Promise<UpstreamTokenRecord | undefined>;
  listForUpstream(upstreamId: string): Promise<UpstreamTokenRecord[]>;
  listForSubject(subject: string): Promise<UpstreamTokenRecord[]>;
  /** Connections authorized (put) at or after `since`, oldest first: how replicas learn of authorizations made elsewhere. */
  listAuthorizedSince(since: number, limit: number): Promise<UpstreamTokenRecord[]>;
  /** Stores a fresh authorization: inserts, or replaces whatever was there (version bumped, lease cleared). */
  put(record: Omit<UpstreamTokenRecord, 'version' | 'leaseUntil' | 'createdAt'>): Promise<UpstreamTokenRecord>;
  /** Takes the refresh lease when the row is still at `version` and no live lease is held. */
  acquireLease(upstreamId: string, subject: string, version: number, until: number, now: number): Promise<boolean>;
  /** Compare-and-set: writes the patch (version + 1, lease cleared) only when the row is still at `expectedVersion`. */
  replace(
    upstreamId: string,
    subject: string,
    expectedVersion: number,
    patch: Pick<UpstreamTokenRecord, 'sealed' | 'expiresAt' | 'status' | 'reason' | 'updatedAt'>,
  ): Promise<boolean>;
  /** Drops a lease without changing anything else (a refresh that failed for a transient reason). */
  releaseLease(upstreamId: string, subject: string, version: number): Promise<void>;
  delete(upstreamId: string, subject: string): Promise<boolean>;
  deleteForUpstream(upstreamId: string): Promise<number>;
}

export interface OutboundStore {
  upstreamOAuthConfigs: UpstreamOAuthConfigStore;
  upstreamOAuthClients: UpstreamOAuthClientStore;
  upstreamOAuthFlows: UpstreamOAuthFlowStore;
  upstreamTokens: UpstreamTokenStore;
}
