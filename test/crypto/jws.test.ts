import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { threadpoolSigner, workerSigner } from '../../src/crypto/es256-signer.js';
import { encodeJoseHeader, signEs256Jws } from '../../src/crypto/jws.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const header = encodeJoseHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
const key = { kid: 'k1', privateKey };

for (const [name, signer] of [
  ['on libuv\'s threadpool', threadpoolSigner],
  ['on a worker thread', workerSigner()],
] as const) {
  describe(`ES256 JWS signed ${name}`, () => {
    after(() => signer.close());

    it('signs a compact JWS that jose verifies with the public key, header and payload intact', async () => {
      const token = await signEs256Jws(header, { sub: 'usr_1', scope: 'mcp:read', note: 'é ✓' }, key, signer);
      const { payload, protectedHeader } = await compactVerify(token, publicKey, { algorithms: ['ES256'] });
      assert.deepEqual(protectedHeader, { alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
      assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), { sub: 'usr_1', scope: 'mcp:read', note: 'é ✓' });
      assert.deepEqual(decodeProtectedHeader(token), protectedHeader);
    });

    it('the signature is the raw 64-byte R || S of RFC 7518, not DER', async () => {
      const signature = (await signEs256Jws(header, { sub: 'usr_1' }, key, signer)).split('.')[2]!;
      assert.equal(Buffer.from(signature, 'base64url').length, 64);
    });

    it('jose refuses the token once its payload is changed, or under another key', async () => {
      const [encodedHeader, , signature] = (await signEs256Jws(header, { scope: 'mcp:read' }, key, signer)).split('.');
      const widened = Buffer.from(JSON.stringify({ scope: 'mcp:read mcp:write' })).toString('base64url');
      await assert.rejects(compactVerify(`${encodedHeader}.${widened}.${signature}`, publicKey, { algorithms: ['ES256'] }));
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
      await assert.rejects(compactVerify(await signEs256Jws(header, { scope: 'mcp:read' }, key, signer), stranger, { algorithms: ['ES256'] }));
    });
  });
}
