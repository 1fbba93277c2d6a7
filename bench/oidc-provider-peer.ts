import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Provider from 'oidc-provider';
import { startChild, type BenchServer } from './servers.js';

/**
 * node-oidc-provider as the peer of `npm run bench`'s refresh run: its default in-memory adapter, one public client,
 * refresh tokens rotated on every use (its default for public clients), ES256 JWT access tokens for one resource,
 * the token endpoint at /oauth/token like Gatehouse's. Its own process (`bench/oidc-provider-peer.ts`), which prints
 * its port. Refresh chains are minted through its models by a bench-only route (`POST /bench/refresh-tokens?count=N`):
 * what is measured is the refresh grant, not how the first token came to be.
 */
export const PEER_CLIENT_ID = 'bench';
const SCOPE = 'mcp:read mcp:write';

async function servePeer(): Promise<void> {
  const http = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const resource = `${issuer}/mcp`;
  const signingKey = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: PEER_CLIENT_ID,
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1:9/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    }],
    jwks: { keys: [signingKey] },
    routes: { token: '/oauth/token' },
    scopes: ['openid', 'offline_access', 'mcp:read', 'mcp:write'],
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({ scope: SCOPE, audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'ES256' } } }),
      },
    },
  });
  const client = await provider.Client.find(PEER_CLIENT_ID);
  const mintOne = async () => {
    const grant = new provider.Grant({ accountId: 'bench-user', clientId: PEER_CLIENT_ID });
    grant.addResourceScope(resource, SCOPE);
    const grantId = await grant.save();
    const token = new provider.RefreshToken({ accountId: 'bench-user', client, grantId, gty: 'authorization_code', resource, scope: SCOPE, authTime: Math.floor(Date.now() / 1000) });
    return token.save();
  };
  const callback = provider.callback();
  http.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method !== 'POST' || url.pathname !== '/bench/refresh-tokens') {
      callback(req, res);
      return;
    }
    void Promise.all(Array.from({ length: Number(url.searchParams.get('count') ?? 1) }, mintOne)).then((tokens) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tokens));
    });
  });
  http.keepAliveTimeout = 60_000;
  process.stdout.write(`${(http.address() as AddressInfo).port}\n`);
}

export const startOidcProviderPeer = (): Promise<BenchServer> => startChild(path.join(import.meta.dirname, 'oidc-provider-peer.ts'), []);

/** `count` new refresh chains of the peer. */
export async function mintPeerRefreshTokens(peer: BenchServer, count: number): Promise<string[]> {
  const response = await fetch(`${peer.url}/bench/refresh-tokens?count=${count}`, { method: 'POST' });
  if (!response.ok) throw new Error(`the peer minted no refresh tokens: ${response.status} ${await response.text()}`);
  return (await response.json()) as string[];
}

if (process.argv[1] === import.meta.filename) await servePeer();
