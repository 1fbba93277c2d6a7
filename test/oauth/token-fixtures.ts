import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../../src/crypto/random.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import type { ClientAuthMethod } from '../../src/store/index.js';
import type { TestApp } from '../helpers/app.js';

export const REDIRECT_URI = 'http://127.0.0.1:9876/callback';

export interface TestClient {
  clientId: string;
  secret?: string;
}

/** A registered client row, written straight to the store (the registration endpoint is tested on its own). */
export async function createClient(
  t: TestApp,
  options: { authMethod?: ClientAuthMethod; secret?: string; grantTypes?: string[] } = {},
): Promise<TestClient> {
  const authMethod = options.authMethod ?? 'none';
  const clientId = newId('cli');
  const now = Date.now();
  await t.runtime.store.clients.create({
    clientId,
    kind: 'dynamic',
    authMethod,
    secretHash: options.secret ? t.runtime.keys.tokenHasher.hash(options.secret) : null,
    secretExpiresAt: options.secret ? 0 : null,
    registrationTokenHash: null,
    metadata: JSON.stringify({
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: authMethod,
      grant_types: options.grantTypes ?? ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
    metadataExpiresAt: null,
    createdIp: null,
    createdAt: now,
    updatedAt: now,
  });
  return { clientId, secret: options.secret };
}

export async function adminUserId(t: TestApp): Promise<string> {
  const user = await t.runtime.users.find('admin');
  assert.ok(user);
  return user.id;
}

export interface IssuedCode {
  code: string;
  verifier: string;
  clientId: string;
}

/** A code as the authorization endpoint would issue it after consent, with a real S256 challenge. */
/** A code for `client`, given by `userId` (the admin unless named). */
export async function issueCode(t: TestApp, client: TestClient, options: { scope?: string; userId?: string } = {}): Promise<IssuedCode> {
  const verifier = randomBytes(32).toString('base64url');
  const code = await t.runtime.grants.issueAuthorizationCode({
    userId: options.userId ?? (await adminUserId(t)),
    clientId: client.clientId,
    scope: options.scope ?? 'mcp:read mcp:write',
    resource: gatewayResource(t.config.publicUrl),
    redirectUri: REDIRECT_URI,
    codeChallenge: s256Challenge(verifier),
    ip: null,
  });
  return { code, verifier, clientId: client.clientId };
}

export function postToken(t: TestApp, fields: Record<string, string> | string, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
  });
}

export function exchangeCode(t: TestApp, issued: IssuedCode, extra: Record<string, string> = {}) {
  return postToken(t, {
    grant_type: 'authorization_code',
    code: issued.code,
    code_verifier: issued.verifier,
    redirect_uri: REDIRECT_URI,
    client_id: issued.clientId,
    ...extra,
  });
}

export function refresh(t: TestApp, clientId: string, refreshToken: string, extra: Record<string, string> = {}) {
  return postToken(t, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, ...extra });
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  scope: string;
}

/** A fresh grant for a new public client, exchanged for its first token pair. */
export async function grantWithTokens(t: TestApp, options: { scope?: string; userId?: string } = {}): Promise<{ client: TestClient; tokens: TokenPair; grantId: string }> {
  const client = await createClient(t);
  const res = await exchangeCode(t, await issueCode(t, client, options));
  assert.equal(res.statusCode, 200, res.body);
  const tokens = res.json() as TokenPair;
  const claims = await t.runtime.accessTokens.verify(tokens.access_token, gatewayResource(t.config.publicUrl));
  assert.ok(claims);
  return { client, tokens, grantId: claims.gid };
}

export function assertOAuthError(res: LightMyRequestResponse, error: string, status = 400): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error, error, res.body);
  assert.equal(typeof res.json().error_description, 'string');
  assert.equal(res.headers['cache-control'], 'no-store');
}

/** Moves a row's timestamps into the past: time travel without sleeping. */
export async function shiftPast(t: TestApp, sql: string, params: unknown[]): Promise<void> {
  const result = await t.runtime.store.database.run(sql, params);
  assert.equal(result.changes, 1, 'exactly one row moved');
}
