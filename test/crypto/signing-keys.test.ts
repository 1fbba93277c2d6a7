import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { open } from '../../src/crypto/aead.js';
import { KEY_CACHE_MS, signingKeyRing, type SigningKeyRing } from '../../src/crypto/signing-keys.js';
import { accessTokenService, retiredKeyLifetimeMs } from '../../src/oauth/access-tokens.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import { backends, openTestStore } from '../helpers/backends.js';

const config = loadConfig({ dataDir: '/nonexistent', publicUrl: 'https://gate.example.com' }, {});
const resource = gatewayResource(config.publicUrl);
const retention = retiredKeyLifetimeMs(config);
const sharedKey = randomBytes(32);

for (const backend of backends) {
  describe(`signing key ring on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    const encryptionKey = randomBytes(32);
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const now = () => clock;
    const ringOn = (s: typeof store, key = encryptionKey): SigningKeyRing =>
      signingKeyRing({ store: s.signingKeys, encryptionKey: key, retiredKeyLifetimeMs: retention }, now);
    const kids = async (ring: SigningKeyRing) => (await ring.publicJwks()).keys.map((jwk) => jwk.kid).sort();
    /** Moves past the key cache, as a replica would after a few seconds. */
    const passCache = () => {
      clock += KEY_CACHE_MS;
    };

    before(async () => {
      store = await openTestStore(backend);
    });
    after(() => store.close());

    it('the first use of an empty table creates one current key whose private half is stored only sealed', async () => {
      const ring = ringOn(store);
      const { kid } = await ring.signingKey();
      const rows = await store.database.all<Record<string, unknown>>('SELECT * FROM signing_keys');
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.equal(row.kid, kid);
      assert.equal(row.state, 'current');
      const publicJwk = JSON.parse(String(row.public_jwk));
      assert.equal(publicJwk.d, undefined);
      assert.deepEqual({ kty: publicJwk.kty, crv: publicJwk.crv, alg: publicJwk.alg, use: publicJwk.use, kid: publicJwk.kid }, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid });
      const sealed = String(row.sealed_private_jwk);
      const privateJwk = JSON.parse(open(encryptionKey, sealed, `signing-key:${kid}`));
      assert.equal(typeof privateJwk.d, 'string');
      for (const [column, value] of Object.entries(row)) {
        assert.ok(!String(value).includes(privateJwk.d), `${column} holds the private key in plaintext`);
        if (column !== 'sealed_private_jwk') assert.ok(!String(value).includes('"d"'), `${column} holds a private JWK member`);
      }
      assert.deepEqual(await kids(ring), [kid]);
    });

    it('a ring under another master key cannot use the stored private key', async () => {
      const stranger = ringOn(store, randomBytes(32));
      await assert.rejects(stranger.signingKey());
    });

    it('rotation publishes the next key one rotation before it signs, and old tokens still verify', async () => {
      const ring = ringOn(store);
      const tokens = accessTokenService({ config, signingKeys: ring }, now);
      const first = (await ring.signingKey()).kid;
      const before = await tokens.issue({ grantId: 'g', userId: 'u', clientId: 'c', scope: 'mcp:read', resource });

      const published = await ring.rotate();
      assert.equal(published.current, first, 'a first rotation only publishes');
      assert.deepEqual(published.retired, []);
      assert.deepEqual(await kids(ring), [first, published.next].sort());
      assert.equal((await ring.signingKey()).kid, first);

      const promoted = await ring.rotate();
      assert.equal(promoted.current, published.next);
      assert.deepEqual(promoted.retired, [first]);
      assert.equal((await ring.signingKey()).kid, published.next);
      assert.deepEqual(await kids(ring), [first, published.next, promoted.next].sort());
      assert.ok(await tokens.verify(before.token, resource), 'a token of the retired key verifies');
      const info = (await ring.list()).find((key) => key.kid === first)!;
      assert.equal(info.state, 'retired');
      assert.equal(info.expiresAt, clock + retention);
    });

    it('a retired key leaves the JWKS once its tokens have expired, and the next rotation deletes it', async () => {
      const ring = ringOn(store);
      const retired = (await ring.list()).filter((key) => key.state === 'retired').map((key) => key.kid);
      assert.equal(retired.length, 1);
      const retiredKid = retired[0]!;
      clock += retention - 1;
      assert.ok((await kids(ring)).includes(retiredKid));
      assert.ok(await ring.verificationKey(retiredKid));
      clock += 1;
      assert.ok(!(await kids(ring)).includes(retiredKid));
      assert.equal(await ring.verificationKey(retiredKid), undefined);
      const rotation = await ring.rotate();
      assert.deepEqual(rotation.deleted, [retiredKid]);
      assert.ok(!(await ring.list()).some((key) => key.kid === retiredKid));
    });

    it('another replica signs with a rotated key once its cache has passed', async () => {
      const replica = ringOn(store);
      const operator = ringOn(store);
      const before = (await replica.signingKey()).kid;
      const { current } = await operator.rotate();
      assert.notEqual(current, before);
      assert.equal((await replica.signingKey()).kid, before, 'cached for a few seconds');
      passCache();
      assert.equal((await replica.signingKey()).kid, current);
    });

    it('listing never shows private material', async () => {
      const listed = await ringOn(store).list();
      assert.ok(listed.length > 0);
      for (const key of listed) assert.deepEqual(Object.keys(key).sort(), ['activatedAt', 'alg', 'createdAt', 'expiresAt', 'kid', 'retiredAt', 'state']);
    });
  });

  describe(`two replicas starting at once on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(backend);
    });
    after(() => store.close());

    it('settle on the same current key, and every key either created stays published', async () => {
      let clock = 1_000_000;
      const now = () => clock;
      const replicas = [0, 1].map(() => signingKeyRing({ store: store.signingKeys, encryptionKey: sharedKey, retiredKeyLifetimeMs: retention }, now));
      await Promise.all(replicas.map((ring) => ring.signingKey()));
      clock += KEY_CACHE_MS;
      const [a, b] = await Promise.all(replicas.map((ring) => ring.signingKey()));
      assert.equal(a!.kid, b!.kid);
      const stored = (await store.signingKeys.list()).filter((key) => key.state === 'current').map((key) => key.kid).sort();
      assert.deepEqual((await replicas[0]!.publicJwks()).keys.map((jwk) => jwk.kid).sort(), stored);
    });
  });
}
