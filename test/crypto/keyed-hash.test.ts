import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { keyedHasher, secretsEqual } from '../../src/crypto/keyed-hash.js';

const pepper1 = randomBytes(32);
const pepper2 = randomBytes(32);

it('hashes a secret the same way every time, tagged with the pepper version, without showing it', () => {
  const hasher = keyedHasher([{ version: 1, key: pepper1 }]);
  const hash = hasher.hash('gth_ak_secret');
  assert.equal(hasher.hash('gth_ak_secret'), hash);
  assert.match(hash, /^p1\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!hash.includes('secret'));
  assert.notEqual(hasher.hash('gth_ak_other'), hash);
});

it('different peppers give different hashes of one secret', () => {
  const a = keyedHasher([{ version: 1, key: pepper1 }]).hash('s');
  const b = keyedHasher([{ version: 1, key: pepper2 }]).hash('s');
  assert.notEqual(a, b);
});

it('hashes with the newest pepper and offers every pepper as a candidate, newest first', () => {
  const rotated = keyedHasher([
    { version: 2, key: pepper2 },
    { version: 1, key: pepper1 },
  ]);
  const old = keyedHasher([{ version: 1, key: pepper1 }]);
  assert.ok(rotated.hash('s').startsWith('p2.'));
  assert.deepEqual(rotated.candidates('s'), [rotated.hash('s'), old.hash('s')]);
});

it('refuses to build a hasher without a pepper', () => {
  assert.throws(() => keyedHasher([]));
});

it('secretsEqual compares exactly, whatever the lengths', () => {
  assert.equal(secretsEqual('abc', 'abc'), true);
  assert.equal(secretsEqual('abc', 'abd'), false);
  assert.equal(secretsEqual('abc', 'abcd'), false);
  assert.equal(secretsEqual('', ''), true);
});
