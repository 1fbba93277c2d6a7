import { z } from 'zod';
import type { Config } from '../config.js';
import { isJsonObject } from '../json-object.js';
import type { ClientAuthMethod } from '../store/index.js';
import type { ClientMetadata } from './clients.js';
import { OAuthError } from './errors.js';
import { JWT_BEARER_GRANT } from './grant-types.js';
import { checkRedirectUris, type RedirectUriPolicy } from './redirect-uris.js';
import { DEFAULT_SCOPES, formatScope, supportedScopeString } from './scopes.js';

/** The registration rules from config.oauth: `strict` also means public clients only, with the configured scope. */
export interface RegistrationPolicy extends RedirectUriPolicy {
  /** The scope every client gets under the strict policy (`oauth.strictScope`). */
  strictScope: string;
}

export function registrationPolicyOf(oauth: Pick<Config['oauth'], 'registrationPolicy' | 'allowedRedirectSchemes' | 'strictScope'>): RegistrationPolicy {
  return { strict: oauth.registrationPolicy === 'strict', allowedSchemes: oauth.allowedRedirectSchemes, strictScope: oauth.strictScope };
}

type AuthMethod = (typeof AUTH_METHODS)[number];

/**
 * What one registration endpoint issues within the policy; the endpoints differ only in this. `authMethod` turns
 * the requested `token_endpoint_auth_method` (undefined when absent) into the client's, or refuses it.
 */
export interface RegistrationProfile {
  authMethod(requested: AuthMethod | undefined): AuthMethod;
  clientNameRequired: boolean;
}

export const REGISTRATION_PROFILES = {
  /** RFC 7591 (`/oauth/register`, RFC 7592 updates, metadata documents): public unless the client asks for a secret. */
  rfc7591: { authMethod: (requested) => requested ?? 'none', clientNameRequired: false },
  /** Bifrost's `/api/oauth/per-user/register` (seed 000): always a public client; a request for a secret gets none. */
  publicOnly: { authMethod: () => 'none', clientNameRequired: false },
  /**
   * Seed 003's `/v1/provider-mcp/oauth/register`: a named, confidential client whose secret is returned once;
   * `client_secret_basic` unless it asks for `client_secret_post`, and `none` is refused.
   */
  confidential: {
    authMethod: (requested) => {
      if (requested === 'none') throw new OAuthError('invalid_client_metadata', 'this endpoint registers confidential clients: token_endpoint_auth_method must be client_secret_basic or client_secret_post');
      return requested ?? 'client_secret_basic';
    },
    clientNameRequired: true,
  },
} as const satisfies Record<string, RegistrationProfile>;

/** What a client may register for; without grant_types it gets the first two (jwt-bearer is asked for by name). */
const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token', JWT_BEARER_GRANT] as const;
const DEFAULT_GRANT_TYPES = ['authorization_code', 'refresh_token'];
const SUPPORTED_RESPONSE_TYPES = ['code'] as const;
const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const satisfies readonly ClientAuthMethod[];

const text = (max: number) => z.string().min(1).max(max);
const httpUrl = text(2000).refine(isHttpUrl, 'must be an http or https URL');

/**
 * RFC 7591 §2 metadata as a client may send it. Unknown fields (and localized `client_name#fr` forms) are
 * stripped, not echoed; `null` and empty strings count as absent because real clients send them.
 */
const metadataRequest = z.object({
  redirect_uris: z.array(z.string()),
  token_endpoint_auth_method: z.enum(AUTH_METHODS).optional(),
  grant_types: z.array(z.string()).optional(),
  response_types: z.array(z.string()).optional(),
  client_name: text(200).optional(),
  client_uri: httpUrl.optional(),
  logo_uri: httpUrl.optional(),
  tos_uri: httpUrl.optional(),
  policy_uri: httpUrl.optional(),
  contacts: z.array(text(320)).max(10).optional(),
  software_id: text(200).optional(),
  software_version: text(200).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  scope: z.string().max(1000).optional(),
});

/** RFC 7592 §2.2: an update may repeat the client's own id and secret, which must then match. */
export const registrationRequest = metadataRequest.extend({ client_id: z.string().optional(), client_secret: z.string().optional() });

export type RegistrationRequest = ClientMetadata & { client_id?: string; client_secret?: string };

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function withoutAbsentValues(body: unknown): unknown {
  if (!isJsonObject(body)) return body;
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null && value !== ''));
}

/** Schema failures in RFC 7591 §3.2.2 terms: the redirect URIs have their own code, every other field the general one. */
function metadataError(error: z.ZodError): OAuthError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.');
  if (issue.path[0] === 'redirect_uris') {
    return new OAuthError('invalid_redirect_uri', issue.code === 'invalid_type' && issue.path.length === 1 ? 'redirect_uris (an array of URIs) is required' : `${field}: ${issue.message}`);
  }
  if (!field) return new OAuthError('invalid_client_metadata', 'the body must be a JSON object of client metadata');
  return new OAuthError('invalid_client_metadata', `${field}: ${issue.message}`);
}

/** Keeps the supported values in the client's order; `required` must survive the filter. */
function filterSupported(requested: string[] | undefined, supported: readonly string[], fallback: string[], required: string, field: string): string[] {
  if (requested === undefined) return fallback;
  const kept = [...new Set(requested.filter((value) => supported.includes(value)))];
  if (!kept.includes(required)) throw new OAuthError('invalid_client_metadata', `${field} must include ${required}`);
  return kept;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Validates and normalises registration metadata (RFC 7591 §2) under the policy and the endpoint's profile. Grant
 * and response types and scopes are filtered to what Gatehouse supports, and the granted scope is always stated;
 * the strict policy makes every client public with its configured scope.
 */
export function normaliseClientMetadata(body: unknown, policy: RegistrationPolicy, profile: RegistrationProfile = REGISTRATION_PROFILES.rfc7591): RegistrationRequest {
  const cleaned = withoutAbsentValues(body);
  const parsed = registrationRequest.safeParse(cleaned);
  if (!parsed.success) throw metadataError(parsed.error);
  const input = parsed.data;
  if (profile.clientNameRequired && input.client_name === undefined) throw new OAuthError('invalid_client_metadata', 'client_name is required');
  const method = profile.authMethod(input.token_endpoint_auth_method);
  if (policy.strict && method !== 'none') {
    throw new OAuthError('invalid_client_metadata', 'this server registers public clients only: token_endpoint_auth_method must be none');
  }
  const metadata: ClientMetadata = {
    redirect_uris: checkRedirectUris(input.redirect_uris, policy),
    token_endpoint_auth_method: method,
    // RFC 7591 defaults to authorization_code alone; MCP clients that omit the field still expect refresh tokens.
    grant_types: filterSupported(input.grant_types, SUPPORTED_GRANT_TYPES, DEFAULT_GRANT_TYPES, 'authorization_code', 'grant_types'),
    response_types: filterSupported(input.response_types, SUPPORTED_RESPONSE_TYPES, ['code'], 'code', 'response_types'),
    client_name: input.client_name,
    client_uri: input.client_uri,
    logo_uri: input.logo_uri,
    tos_uri: input.tos_uri,
    policy_uri: input.policy_uri,
    contacts: input.contacts,
    software_id: input.software_id,
    software_version: input.software_version,
    application_type: input.application_type,
    scope: policy.strict ? policy.strictScope : (supportedScopeString(input.scope) ?? formatScope(DEFAULT_SCOPES)),
  };
  return dropUndefined({ ...metadata, client_id: input.client_id, client_secret: input.client_secret });
}

/** The metadata part of a request, without the RFC 7592 id and secret it may repeat. */
export function metadataOf(request: RegistrationRequest): ClientMetadata {
  const { client_id: _id, client_secret: _secret, ...metadata } = request;
  return metadata;
}
