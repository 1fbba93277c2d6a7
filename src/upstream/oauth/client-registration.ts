import { dynamicClientRegistrationRequest, type AuthorizationServer } from 'oauth4webapi';
import { GuardedFetchError } from '../../net/guarded-fetch.js';
import { oauthRequestOptions } from './outbound-fetch.js';
import { OAuthSetupError, type ClientCredentials, type ConfiguredOAuth, type OutboundHttpOptions, type TokenEndpointAuthMethod } from './types.js';

/**
 * Gatehouse's client identity at an upstream's authorization server, in the order of the MCP spec's "Client
 * Registration Approaches": the admin's pre-registered credentials, else a Client ID Metadata Document (Gatehouse's
 * own, served at CLIENT_METADATA_DOCUMENT_PATH) when the server supports them, else RFC 7591 dynamic registration.
 * Credentials belong to one issuer: the caller keeps them per issuer and never presents them to another.
 */

export const CLIENT_METADATA_DOCUMENT_PATH = '/oauth/gatehouse-client.json';
export const OAUTH_CALLBACK_PATH = '/api/oauth/callback';
const CLIENT_NAME = 'Gatehouse';
const GRANT_TYPES = ['authorization_code', 'refresh_token'];

/** Where Gatehouse publishes its Client ID Metadata Document: also its client_id at servers that accept CIMD. */
export function clientMetadataDocumentUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${CLIENT_METADATA_DOCUMENT_PATH}`;
}

/** Gatehouse's Client ID Metadata Document: a server-side web client, public (PKCE, no secret). */
export function clientMetadataDocument(publicUrl: string): Record<string, unknown> {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    client_id: clientMetadataDocumentUrl(base),
    client_name: CLIENT_NAME,
    client_uri: base,
    redirect_uris: [`${base}${OAUTH_CALLBACK_PATH}`],
    application_type: 'web',
    grant_types: GRANT_TYPES,
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}

export interface ObtainClientOptions {
  server: AuthorizationServer;
  configured?: ConfiguredOAuth;
  /** Gatehouse's CIMD URL; used only when https with a path (draft-ietf-oauth-client-id-metadata-document). */
  metadataDocumentUrl?: string;
  redirectUri: string;
  scope?: string;
  http: OutboundHttpOptions;
}

/** A secret goes in Basic unless the server lists client_secret_post without client_secret_basic. */
function secretMethod(server: AuthorizationServer): TokenEndpointAuthMethod {
  const methods = server.token_endpoint_auth_methods_supported;
  return methods?.includes('client_secret_post') && !methods.includes('client_secret_basic') ? 'client_secret_post' : 'client_secret_basic';
}

function configuredClient(server: AuthorizationServer, configured: ConfiguredOAuth | undefined): ClientCredentials | undefined {
  if (!configured?.clientId) return undefined;
  if (!configured.clientSecret) return { clientId: configured.clientId, authMethod: 'none', source: 'configured' };
  return { clientId: configured.clientId, clientSecret: configured.clientSecret, authMethod: secretMethod(server), source: 'configured' };
}

function usableMetadataDocumentUrl(url: string | undefined): url is string {
  if (!url || !URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.protocol === 'https:' && parsed.pathname !== '/' && !parsed.hash;
}

function metadataDocumentClient(server: AuthorizationServer, url: string | undefined): ClientCredentials | undefined {
  if (server.client_id_metadata_document_supported !== true || !usableMetadataDocumentUrl(url)) return undefined;
  return { clientId: url, authMethod: 'none', source: 'metadata_document' };
}

/** A public client when the server takes one; else a confidential one with the method the server names. */
function registrationAuthMethod(server: AuthorizationServer): TokenEndpointAuthMethod {
  const methods = server.token_endpoint_auth_methods_supported;
  if (!methods || methods.includes('none')) return 'none';
  if (methods.includes('client_secret_basic')) return 'client_secret_basic';
  if (methods.includes('client_secret_post')) return 'client_secret_post';
  const url = server.registration_endpoint!;
  throw new OAuthSetupError('registration', `the authorization server ${server.issuer} supports none of the client authentication methods Gatehouse uses (none, client_secret_basic, client_secret_post)`, url);
}

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];

/**
 * The registration response, read leniently: oauth4webapi's reader insists on `client_secret_expires_at` with a
 * secret, which RFC 7591 requires but common servers (and the conformance suite's) omit.
 */
async function readRegistration(response: Response, url: string, requested: TokenEndpointAuthMethod): Promise<ClientCredentials> {
  const refuse = (how: string) => new OAuthSetupError('registration', `the registration endpoint at ${url} ${how}`, url);
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (response.status !== 201 && response.status !== 200) {
    const reason = typeof body?.error === 'string' ? `: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}` : '';
    throw refuse(`refused the registration with HTTP ${response.status}${reason}`);
  }
  if (typeof body?.client_id !== 'string' || !body.client_id) throw refuse('answered without a client_id');
  const granted = AUTH_METHODS.find((method) => method === body.token_endpoint_auth_method) ?? requested;
  const secret = typeof body.client_secret === 'string' && body.client_secret ? body.client_secret : undefined;
  if (granted === 'none') return { clientId: body.client_id, authMethod: 'none', source: 'dynamic' };
  if (!secret) throw refuse(`registered a ${granted} client without a client_secret`);
  return { clientId: body.client_id, clientSecret: secret, authMethod: granted, source: 'dynamic' };
}

async function registerDynamically(options: ObtainClientOptions): Promise<ClientCredentials | undefined> {
  const { server } = options;
  const url = server.registration_endpoint;
  if (!url) return undefined;
  const authMethod = registrationAuthMethod(server);
  const metadata = {
    client_name: CLIENT_NAME,
    application_type: 'web',
    redirect_uris: [options.redirectUri],
    grant_types: GRANT_TYPES,
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
    ...(options.scope ? { scope: options.scope } : {}),
  };
  let response: Response;
  try {
    response = await dynamicClientRegistrationRequest(server, metadata, oauthRequestOptions(options.http));
  } catch (error) {
    const reason = error instanceof GuardedFetchError ? error.message : error instanceof Error ? error.message : 'the request failed';
    throw new OAuthSetupError('registration', `could not register at ${url}: ${reason}`, url, { cause: error });
  }
  return readRegistration(response, url, authMethod);
}

/** Gatehouse's credentials at `server`: configured, else CIMD, else dynamic registration; none possible is an error. */
export async function obtainClient(options: ObtainClientOptions): Promise<ClientCredentials> {
  const client =
    configuredClient(options.server, options.configured) ??
    metadataDocumentClient(options.server, options.metadataDocumentUrl) ??
    (await registerDynamically(options));
  if (client) return client;
  throw new OAuthSetupError(
    'registration',
    `the authorization server ${options.server.issuer} offers no way for Gatehouse to register (no registration_endpoint, no Client ID Metadata Document support): configure a client_id`,
    options.server.issuer,
  );
}
