import assert from 'node:assert/strict';
import { randomBytes, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { loadConfig } from '../../src/config.js';
import { signingKeyRing, type SigningKeyRing } from '../../src/crypto/signing-keys.js';
import {
  accessTokenService,
  CLOCK_SKEW_SECONDS,
  isGrantLive,
  retiredKeyLifetimeMs,
  type AccessTokenRequest,
  type AccessTokenService,
} from '../../src/oauth/access-tokens.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import { backends, openTestStore } from '../helpers/backends.js';

const config = loadConfig({ dataDir: '/nonexistent', publicUrl: 'https://gate.example.com' }, {});
const resource = gatewayResource(config.publicUrl);
const request: AccessTokenRequest = { grantId: 'grt_1', userId: 'usr_1', clientId: 'cli_1', scope: 'mcp:read mcp:write', resource };

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

for (const backend of backends) {
  describe(`access tokens on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let ring: SigningKeyRing;
    let tokens: AccessTokenService;
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const now = () => clock;

    before(async () => {
      store = await openTestStore(backend);
      ring = signingKeyRing({ store: store.signingKeys, encryptionKey: randomBytes(32), retiredKeyLifetimeMs: retiredKeyLifetimeMs(config) }, now);
      tokens = accessTokenService({ config, signingKeys: ring }, now);
    });
    after(() => store.close());

    /** A token with our claims, signed by hand: `typ` and the signing key are what each test varies. */
    const handMadeToken = (privateKey: CryptoKey | KeyObject, kid: string, typ: string | undefined) => {
      const iat = Math.floor(clock / 1000);
      return new SignJWT({ client_id: 'cli_1', scope: 'mcp:read', gid: 'grt_1' })
        .setProtectedHeader({ alg: 'ES256', kid, ...(typ ? { typ } : {}) })
        .setIssuer(config.publicUrl)
        .setSubject('usr_1')
        .setAudience(resource)
        .setJti('at_x')
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + 60)
        .sign(privateKey);
    };

    it('issues an RFC 9068 token that verifies for its resource, with every claim', async () => {
      const { token, expiresIn } = await tokens.issue(request);
      assert.equal(expiresIn, 600);
      const header = decodeProtectedHeader(token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      assert.equal(header.kid, (await ring.signingKey()).kid);
      const claims = await tokens.verify(token, resource);
      assert.ok(claims);
      const iat = Math.floor(clock / 1000);
      assert.deepEqual(
        { ...claims, jti: typeof claims.jti },
        { iss: 'https://gate.example.com', sub: 'usr_1', aud: resource, client_id: 'cli_1', scope: 'mcp:read mcp:write', gid: 'grt_1', jti: 'string', iat, nbf: iat, exp: iat + 600 },
      );
      const other = await tokens.issue(request);
      assert.notEqual((await tokens.verify(other.token, resource))?.jti, claims.jti);
    });

    it('a token rebuilt from its copy and jti is the issued token, byte for byte, after the signing key has changed too; another jti does not verify', async () => {
      const issued = await tokens.issue(request, 'at_given');
      assert.equal((await tokens.verify(issued.token, resource))?.jti, 'at_given');
      assert.equal(issued.token.split('.')[2], issued.copy.signature);
      await ring.rotate();
      await ring.rotate();
      assert.notEqual((await ring.signingKey()).kid, issued.copy.kid);
      assert.equal(tokens.rebuild(request, 'at_given', issued.copy), issued.token);
      assert.equal(await tokens.verify(tokens.rebuild(request, 'at_other', issued.copy), resource), undefined);
    });

    it('jose verifies an issued token against the published JWKS, with its typ, issuer and audience', async () => {
      const { token } = await tokens.issue(request);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await ring.publicJwks()), {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        issuer: config.publicUrl,
        audience: resource,
        currentDate: new Date(clock),
      });
      assert.equal(protectedHeader.kid, (await ring.signingKey()).kid);
      assert.equal(payload.sub, 'usr_1');
    });

    it('a token for another audience fails verification (wrong audience)', async () => {
      const { token } = await tokens.issue({ ...request, resource: 'https://other.example.com/mcp' });
      assert.equal(await tokens.verify(token, resource), undefined);
      const ours = await tokens.issue(request);
      assert.equal(await tokens.verify(ours.token, 'https://other.example.com/mcp'), undefined);
    });

    it('a token verified once (and so remembered) still fails for another audience', async () => {
      const { token } = await tokens.issue(request);
      assert.ok(await tokens.verify(token, resource));
      assert.equal(await tokens.verify(token, 'https://other.example.com/mcp'), undefined);
      assert.ok(await tokens.verify(token, resource), 'and still verifies for its own');
    });

    it('a token from another issuer sharing the key ring fails verification', async () => {
      const otherConfig = loadConfig({ dataDir: '/nonexistent', publicUrl: 'https://evil.example.com' }, {});
      const foreign = accessTokenService({ config: otherConfig, signingKeys: ring }, now);
      const { token } = await foreign.issue(request);
      assert.equal(await tokens.verify(token, resource), undefined);
    });

    it('an expired token fails once past its lifetime and the clock skew, not before', async () => {
      const { token } = await tokens.issue(request);
      const issuedAt = clock;
      try {
        clock = issuedAt + (600 + CLOCK_SKEW_SECONDS - 1) * 1000;
        assert.ok(await tokens.verify(token, resource));
        clock = issuedAt + (600 + CLOCK_SKEW_SECONDS + 1) * 1000;
        assert.equal(await tokens.verify(token, resource), undefined);
      } finally {
        clock = issuedAt;
      }
    });

    it('a token not yet valid (nbf beyond the skew) fails', async () => {
      const issuedAt = clock;
      clock = issuedAt + (CLOCK_SKEW_SECONDS + 60) * 1000;
      const { token } = await tokens.issue(request);
      clock = issuedAt;
      assert.equal(await tokens.verify(token, resource), undefined);
    });

    it('a JWT of our key with typ other than at+jwt fails (no token confusion)', async () => {
      const key = await ring.signingKey();
      const sign = (typ: string | undefined) => handMadeToken(key.privateKey, key.kid, typ);
      assert.ok(await tokens.verify(await sign('at+jwt'), resource), 'the control token verifies');
      assert.equal(await tokens.verify(await sign('JWT'), resource), undefined);
      assert.equal(await tokens.verify(await sign(undefined), resource), undefined);
    });

    it('a token signed by a foreign key claiming our kid fails', async () => {
      const { kid } = await ring.signingKey();
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await handMadeToken(privateKey, kid, 'at+jwt');
      assert.equal(await tokens.verify(forged, resource), undefined);
    });

    it('an unsigned token (alg none) and a tampered payload fail', async () => {
      const { token } = await tokens.issue(request);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      const kid = decodeProtectedHeader(token).kid;
      const unsigned = `${base64url({ alg: 'none', typ: 'at+jwt', kid })}.${payload}.`;
      assert.equal(await tokens.verify(unsigned, resource), undefined);
      const widened = base64url({ ...claims, scope: 'mcp:read mcp:write admin', sub: 'usr_admin' });
      assert.equal(await tokens.verify(`${header}.${widened}.${signature}`, resource), undefined);
      assert.equal(await tokens.verify('not a jwt', resource), undefined);
    });
  });

  describe(`isGrantLive on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(backend);
      await store.users.create({ id: 'usr_1', username: 'alice', passwordHash: 'x', isAdmin: false, disabledAt: null, createdAt: 1, updatedAt: 1 });
    });
    after(() => store.close());

    const grant = (id: string, expiresAt: number) => ({
      id,
      userId: 'usr_1',
      clientId: 'cli_1',
      scope: 'mcp:read',
      resource,
      createdAt: 1_000,
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
      revokedReason: null,
    });

    it('a grant is live until it is revoked or reaches its absolute end; an unknown one never is', async () => {
      await store.grants.create(grant('grt_live', 10_000));
      await store.grants.create(grant('grt_revoked', 10_000));
      await store.grants.revoke('grt_revoked', 'test', 2_000);
      assert.equal(await isGrantLive(store, 'grt_live', 5_000), true);
      assert.equal(await isGrantLive(store, 'grt_live', 10_000), false);
      assert.equal(await isGrantLive(store, 'grt_revoked', 5_000), false);
      assert.equal(await isGrantLive(store, 'grt_missing', 5_000), false);
    });
  });
}
