import type { Config } from '../config.js';
import { isJsonObject } from '../json-object.js';
import { guardedFetch, GuardedFetchError, type GuardedFetchFailure, type GuardedFetchOptions } from '../net/guarded-fetch.js';
import type { OAuthClientRecord, OAuthClientStore } from '../store/index.js';
import { registeredClient, type ClientCaller, type MetadataDocumentResolver, type RegisteredClient } from './clients.js';
import { OAuthError } from './errors.js';
import type { RegistrationLimits } from './registration-limits.js';
import { metadataOf, normaliseClientMetadata, registrationPolicyOf } from './registration.js';

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25): an https
 * `client_id` names a JSON document that stands in for a registration. It is fetched under the SSRF guard,
 * checked like an RFC 7591 registration, and cached in the client store for as long as its Cache-Control
 * allows within [1 minute, 24 hours]. Errors and invalid documents are never cached, and an expired copy is
 * never served: if the refetch fails, the client is refused. Every fetch is charged to the caller's address, and
 * the first one of a client_id to the registration caps too, since it makes a client here as a registration would.
 */

/** The draft's recommended read limit (§ Maximum Response Size) and the time limit. */
export const METADATA_DOCUMENT_MAX_BYTES = 5 * 1024;
export const METADATA_DOCUMENT_TIMEOUT_MS = 5000;
export const MIN_CACHE_MS = 60_000;
export const MAX_CACHE_MS = 24 * 3600_000;

export interface MetadataDocumentDeps {
  clients: OAuthClientStore;
  limits: Pick<RegistrationLimits, 'countMetadataDocumentFetch'>;
  config: Pick<Config, 'allowPrivateNetworks'> & { oauth: Pick<Config['oauth'], 'registrationPolicy' | 'allowedRedirectSchemes' | 'strictScope'> };
  now?: () => number;
  /** Test seams of the fetch (a self-signed CA, an address policy); production uses the defaults. */
  fetchOptions?: Pick<GuardedFetchOptions, 'ca' | 'isAllowedAddress' | 'resolveHost'>;
}

/** Failures that would tell a stranger how a host resolves or whether it listens. */
const ADDRESS_FAILURES: ReadonlySet<GuardedFetchFailure> = new Set(['dns_failure', 'blocked_address', 'connection_failed']);

function refuse(clientId: string, problem: string): OAuthError {
  return new OAuthError('invalid_client', `client_id ${clientId} ${problem}`);
}

function refuseDocument(clientId: string, problem: string, logDetail?: string): OAuthError {
  return new OAuthError('invalid_client', `the client metadata document at ${clientId} ${problem}`, undefined, {}, logDetail);
}

/** The draft's Client Identifier URL rules (§3), plus canonical form, since client ids compare as plain strings. */
export function checkClientIdUrl(clientId: string): void {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    throw refuse(clientId, 'is not a URL');
  }
  if (url.protocol !== 'https:') throw refuse(clientId, 'must use https');
  if (url.username || url.password) throw refuse(clientId, 'must not contain credentials');
  if (clientId.includes('#')) throw refuse(clientId, 'must not contain a fragment');
  const rawPath = clientId.replace(/^https:\/\/[^/?#]*/i, '').split('?')[0]!;
  if (rawPath.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) throw refuse(clientId, 'must not contain . or .. path segments');
  if (url.pathname === '/' || url.pathname === '') throw refuse(clientId, 'must have a path naming its metadata document');
  if (url.href !== clientId) throw refuse(clientId, `is not in canonical form (${url.href})`);
}

/** How long a fetched document may be served: its max-age clamped to [1 minute, 24 hours]; no-store, no-cache or none: the minimum. */
export function cacheLifetimeMs(cacheControl: string | string[] | undefined): number {
  const directives = (Array.isArray(cacheControl) ? cacheControl.join(',') : (cacheControl ?? '')).toLowerCase().split(',').map((d) => d.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return MIN_CACHE_MS;
  const maxAge = directives.map((d) => /^max-age="?(\d+)"?$/.exec(d)).find(Boolean);
  if (!maxAge) return MIN_CACHE_MS;
  return Math.min(MAX_CACHE_MS, Math.max(MIN_CACHE_MS, Number(maxAge[1]) * 1000));
}

async function fetchDocument(clientId: string, deps: MetadataDocumentDeps): Promise<{ body: Buffer; lifetimeMs: number }> {
  try {
    const response = await guardedFetch(clientId, {
      ...deps.fetchOptions,
      allowPrivateNetworks: deps.config.allowPrivateNetworks,
      maxBytes: METADATA_DOCUMENT_MAX_BYTES,
      timeoutMs: METADATA_DOCUMENT_TIMEOUT_MS,
      // The draft (§ Client Information Discovery): MUST NOT follow redirects.
      maxRedirects: 0,
      accept: 'application/json',
    });
    if (response.status !== 200) throw refuseDocument(clientId, `answered with HTTP ${response.status}, not 200`);
    return { body: response.body, lifetimeMs: cacheLifetimeMs(response.headers['cache-control']) };
  } catch (error) {
    if (error instanceof GuardedFetchError) {
      // Anyone can name any URL here: whether its host resolves, to what, and whether it answers is for the log only.
      const shown = ADDRESS_FAILURES.has(error.reason) ? 'could not be fetched' : `could not be fetched (${error.message})`;
      throw refuseDocument(clientId, shown, error.message);
    }
    throw error;
  }
}

function parseDocument(clientId: string, body: Buffer): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    throw refuseDocument(clientId, 'is not JSON');
  }
  if (!isJsonObject(document)) throw refuseDocument(clientId, 'is not a JSON object');
  return document;
}

/** The document must name itself, and hold no shared secret: nothing published at a URL can be one (§4.1). */
function checkDocumentIdentity(clientId: string, document: Record<string, unknown>): void {
  if (document.client_id !== clientId) throw refuseDocument(clientId, 'names another client_id: it must equal the URL exactly');
  if ('client_secret' in document || 'client_secret_expires_at' in document) {
    throw refuseDocument(clientId, 'must not contain client_secret or client_secret_expires_at');
  }
  const method = document.token_endpoint_auth_method ?? 'none';
  if (method === 'private_key_jwt') throw refuseDocument(clientId, 'asks for private_key_jwt, which is not supported here: token_endpoint_auth_method must be none');
  if (method !== 'none') throw refuseDocument(clientId, `asks for ${JSON.stringify(method)}, but a published document cannot hold a secret: token_endpoint_auth_method must be none`);
}

/** The rest is checked exactly as a registration would be: redirect URI rules, filtered grant and response types, scope. */
function clientRecord(clientId: string, document: Record<string, unknown>, lifetimeMs: number, deps: MetadataDocumentDeps, now: number): OAuthClientRecord {
  let metadata;
  try {
    metadata = metadataOf(normaliseClientMetadata(document, registrationPolicyOf(deps.config.oauth)));
  } catch (error) {
    if (error instanceof OAuthError) throw refuseDocument(clientId, `is invalid: ${error.description}`);
    throw error;
  }
  return {
    clientId,
    kind: 'metadata_document',
    authMethod: 'none',
    secretHash: null,
    secretExpiresAt: null,
    registrationTokenHash: null,
    metadata: JSON.stringify(metadata),
    metadataExpiresAt: now + lifetimeMs,
    createdIp: null,
    createdAt: now,
    updatedAt: now,
  };
}

export function metadataDocumentResolver(deps: MetadataDocumentDeps): MetadataDocumentResolver {
  const now = deps.now ?? Date.now;
  // Concurrent requests for one client share a single lookup and, when it is not cached, a single fetch: the
  // lookup is inside the shared work, so a request whose lookup ran before another's fetch finished cannot refetch.
  const inFlight = new Map<string, Promise<RegisteredClient>>();

  async function cachedOrFetched(clientId: string, caller: ClientCaller): Promise<RegisteredClient> {
    const cached = await deps.clients.find(clientId);
    if (cached?.kind === 'metadata_document' && cached.metadataExpiresAt !== null && cached.metadataExpiresAt > now()) {
      return registeredClient(cached);
    }
    await deps.limits.countMetadataDocumentFetch(caller.ip, now(), cached === undefined);
    return fetchAndCache(clientId);
  }

  async function fetchAndCache(clientId: string): Promise<RegisteredClient> {
    const { body, lifetimeMs } = await fetchDocument(clientId, deps);
    const document = parseDocument(clientId, body);
    checkDocumentIdentity(clientId, document);
    const record = clientRecord(clientId, document, lifetimeMs, deps, now());
    await deps.clients.upsert(record);
    return registeredClient(record);
  }

  return async function resolveMetadataDocument(clientId, caller) {
    // `closed` admits only clients an admin let register; an outsider's document would walk around that.
    if (deps.config.oauth.registrationPolicy === 'closed') {
      throw refuse(clientId, 'is a metadata document URL, but this server admits only registered clients (registration policy "closed")');
    }
    checkClientIdUrl(clientId);
    const pending = inFlight.get(clientId) ?? cachedOrFetched(clientId, caller).finally(() => inFlight.delete(clientId));
    inFlight.set(clientId, pending);
    return pending;
  };
}
