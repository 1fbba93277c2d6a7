import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'autocannon';
import { authorizeHeadlessly, CookieJar } from '../test/helpers/headless-consent.js';
import { BENCH_ADMIN_PASSWORD } from './servers.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
/** Flows minted at once: enough to keep the server busy, few enough to leave it breathing. */
const MINT_CONCURRENCY = 8;

/** A registered public client and a signed-in browser whose consent is remembered, ready to mint codes. */
export interface BenchClient {
  issuer: string;
  resource: string;
  clientId: string;
  redirectUri: string;
  codeVerifier: string;
  /** Runs one authorization flow through the server's pages and returns its code. */
  mintCode(): Promise<string>;
}

export async function prepareClient(issuer: string): Promise<BenchClient> {
  const registration = await fetch(`${issuer}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'bench', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }),
  });
  if (registration.status !== 201) throw new Error(`registration answered ${registration.status}: ${await registration.text()}`);
  const { client_id: clientId } = (await registration.json()) as { client_id: string };

  const codeVerifier = randomBytes(32).toString('base64url');
  const authorizationUrl = new URL(`${issuer}/oauth/authorize`);
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    scope: 'mcp:read mcp:write',
    state: 'bench',
  }).toString();
  // One jar for every flow: the first signs in and consents, the rest are a returning user's.
  const jar = new CookieJar();
  const mintCode = async () => {
    const response = await authorizeHeadlessly(authorizationUrl, { credentials: { username: 'admin', password: BENCH_ADMIN_PASSWORD }, jar });
    if (!response.code) throw new Error(`no code: ${response.location}`);
    return response.code;
  };
  await mintCode();
  return { issuer, resource: `${issuer}/mcp`, clientId, redirectUri: REDIRECT_URI, codeVerifier, mintCode };
}

/** The form body of an authorization-code exchange. */
export function codeExchangeBody(client: BenchClient, code: string): string {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    code_verifier: client.codeVerifier,
    client_id: client.clientId,
    resource: client.resource,
  }).toString();
}

/** The form body of a refresh-token grant. */
export function refreshBody(client: Pick<BenchClient, 'clientId' | 'resource'>, refreshToken: string): string {
  return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId, resource: client.resource }).toString();
}

/**
 * Each connection follows its own refresh chain: a request takes a token from the pool and its response puts the
 * rotated one back, so the pool always holds one live token per idle connection. A failed refresh puts back
 * the token it used (it is counted in non-2xx; the chain then keeps failing, which the table shows). A run that
 * ends drops the answers in flight, and with them their chains: `topUpRefreshTokens` before the next run.
 */
const EMPTY_POOL = 'gth_rt_pool_empty';

export function refreshChainRequest(client: Pick<BenchClient, 'clientId' | 'resource'>, pool: string[]): Request {
  // The load generator must not be what limits the rate: the form is built from a fixed tail and the rotated token
  // found in the answer by its key, without URLSearchParams or JSON.parse per request.
  const tail = `&${new URLSearchParams({ client_id: client.clientId, resource: client.resource }).toString()}`;
  return {
    method: 'POST',
    path: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    setupRequest: (request, context) => {
      const token = pool.pop() ?? EMPTY_POOL;
      context.token = token;
      return { ...request, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}${tail}` };
    },
    onResponse: (status, body, context) => {
      const next = status === 200 ? rotatedToken(body) : String(context.token);
      if (next !== EMPTY_POOL) pool.push(next);
    },
  };
}

/** The `refresh_token` of a token response (a JSON string without escapes: tokens are base64url). */
function rotatedToken(body: string): string {
  const start = body.indexOf('"refresh_token":"') + '"refresh_token":"'.length;
  return body.slice(start, body.indexOf('"', start));
}

/** Up to `count` codes, minting stops early at `deadline` (epoch ms) so that none expires before it is used. */
export async function mintCodes(client: BenchClient, count: number, deadline = Infinity): Promise<string[]> {
  const codes: string[] = [];
  const worker = async () => {
    while (codes.length < count && Date.now() < deadline) {
      const slot = codes.push('') - 1;
      codes[slot] = await client.mintCode();
    }
  };
  await Promise.all(Array.from({ length: MINT_CONCURRENCY }, worker));
  return codes;
}

/** `count` independent refresh-token chains (one grant each), one per benchmark connection. */
export async function mintRefreshTokens(client: BenchClient, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (const code of await mintCodes(client, count)) {
    const response = await fetch(`${client.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: codeExchangeBody(client, code),
    });
    const body = (await response.json()) as { refresh_token?: string };
    if (!response.ok || !body.refresh_token) throw new Error(`code exchange answered ${response.status}: ${JSON.stringify(body)}`);
    tokens.push(body.refresh_token);
  }
  return tokens;
}

/** Refills `pool` with new chains up to `count` (the chains of answers a finished run dropped). */
export async function topUpRefreshTokens(client: BenchClient, pool: string[], count: number): Promise<void> {
  if (pool.length < count) pool.push(...(await mintRefreshTokens(client, count - pool.length)));
}

/** An access token for the gateway (`resource` = its /mcp), from one code exchange. */
export async function mintAccessToken(client: BenchClient): Promise<string> {
  const [code] = await mintCodes(client, 1);
  const response = await fetch(`${client.issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: codeExchangeBody(client, code!),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!response.ok || !body.access_token) throw new Error(`code exchange answered ${response.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}
