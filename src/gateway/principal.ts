/** Who is calling /mcp: resolved from a Gatehouse access token or an API key on every request. */
export interface Principal {
  userId: string;
  username: string;
  /** The user's groups from company sign-in (absent: none), for upstreams' `allowed_groups`. */
  groups?: readonly string[];
  /** The OAuth client the token was issued to; null for an API key. */
  clientId: string | null;
  /** The API key used (its id); absent for an access token. */
  apiKeyId?: string;
  /** The grant behind the token; null for an API key. */
  grantId: string | null;
  scopes: ReadonlySet<string>;
  via: 'access_token' | 'api_key';
  /** The virtual server (its name) the request came to, at /mcp/{name}; absent: /mcp itself. */
  virtualServer?: string;
}
