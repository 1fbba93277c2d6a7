import { randomBytes } from 'node:crypto';
import { auth, UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { authorizeHeadlessly, type AuthorizationResponse, type Credentials } from './headless-consent.js';

/**
 * An MCP client application as users run it: an SDK `Client` over Streamable HTTP whose OAuthClientProvider
 * keeps everything in memory and whose "browser" is the headless driver (sign in as `credentials`, approve).
 * Nothing listens on the redirect URI: the driver stops at the redirect and the code is handed over by hand.
 */
export class HeadlessOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly clientMetadata: OAuthClientMetadata;
  readonly expectedState = randomBytes(16).toString('base64url');
  authorizationUrl?: URL;
  authorizationResponse?: AuthorizationResponse;
  #client?: OAuthClientInformationMixed;
  #tokens?: OAuthTokens;
  #verifier?: string;
  #discovery?: OAuthDiscoveryState;

  constructor(
    readonly credentials: Credentials,
    options: { clientName?: string; callbackPort?: number; authMethod?: 'none' | 'client_secret_basic' } = {},
  ) {
    // Loopback redirect URIs match on any port (RFC 8252): the port only has to be free of meaning.
    this.redirectUrl = `http://127.0.0.1:${options.callbackPort ?? 38_100}/callback`;
    this.clientMetadata = {
      client_name: options.clientName ?? `e2e client of ${credentials.username}`,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: options.authMethod ?? 'none',
    };
  }

  state(): string {
    return this.expectedState;
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(client: OAuthClientInformationMixed): void {
    this.#client = client;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    if (!this.#verifier) throw new Error('no code verifier saved');
    return this.#verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery;
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrl = url;
    this.authorizationResponse = await authorizeHeadlessly(url, { credentials: this.credentials });
  }

  /** The code the authorization server sent back, after checking `state` as a client must. */
  code(): string {
    const response = this.authorizationResponse;
    if (!response?.code) throw new Error(`no authorization code came back: ${response?.location ?? 'no redirect'}`);
    if (response.state !== this.expectedState) throw new Error('the authorization response carries another state');
    return response.code;
  }
}

const clientInfo = { name: 'gatehouse-e2e', version: '1.0.0' };

/**
 * The SDK's own journey against `<gatehouseUrl>/mcp` (or another `path`, e.g. a virtual server's `/mcp/{name}`):
 * connecting gets a 401, the transport runs discovery,
 * registration and the authorization request (the headless browser signs in and consents), the app hands the
 * code to `finishAuth`, and a fresh connection with the saved token initializes the session.
 */
export async function connectWithOAuth(
  gatehouseUrl: string,
  credentials: Credentials,
  options: { clientName?: string; path?: string } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport; provider: HeadlessOAuthProvider }> {
  const endpoint = new URL(`${gatehouseUrl}${options.path ?? '/mcp'}`);
  const provider = new HeadlessOAuthProvider(credentials, options);
  const firstTransport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider });
  const unauthorized = await new Client(clientInfo).connect(firstTransport).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(unauthorized instanceof UnauthorizedError)) {
    throw new Error(`the first connection should need authorization, got: ${String(unauthorized)}`);
  }
  await firstTransport.finishAuth(provider.code());
  const transport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider });
  const client = new Client(clientInfo);
  await client.connect(transport);
  return { client, transport, provider };
}

/**
 * An access token for `credentials` obtained with the SDK's `auth()`, asking for `scope` (all scopes the server offers
 * if absent), for the server at `path` (default /mcp).
 */
export async function obtainAccessToken(gatehouseUrl: string, credentials: Credentials, options: { scope?: string; path?: string } = {}): Promise<OAuthTokens> {
  const provider = new HeadlessOAuthProvider(credentials);
  const serverUrl = `${gatehouseUrl}${options.path ?? '/mcp'}`;
  const started = await auth(provider, { serverUrl, scope: options.scope });
  if (started !== 'REDIRECT') throw new Error(`expected the SDK to send the user to authorize, got ${started}`);
  const finished = await auth(provider, { serverUrl, authorizationCode: provider.code(), scope: options.scope });
  if (finished !== 'AUTHORIZED') throw new Error(`the code exchange did not authorize: ${finished}`);
  return provider.tokens()!;
}

/** An SDK client connected to `mcpUrl` with a fixed bearer token (no OAuth provider: a 401 stays a failure). */
export async function connectWithToken(mcpUrl: string, token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client(clientInfo);
  await client.connect(transport);
  return { client, transport };
}
