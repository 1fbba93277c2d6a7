import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { DecryptionError, open, seal } from '../../src/crypto/aead.js';

const key = randomBytes(32);

it('opens what it sealed, under the same key and context', () => {
  const sealed = seal(key, 'upstream refresh token ✓', 'upstream:1:refresh');
  assert.equal(open(key, sealed, 'upstream:1:refresh'), 'upstream refresh token ✓');
});

it('never shows the plaintext and seals the same text differently each time', () => {
  const a = seal(key, 'same secret', 'ctx');
  const b = seal(key, 'same secret', 'ctx');
  assert.notEqual(a, b);
  assert.ok(!a.includes('same secret'));
  assert.match(a, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
});

it('refuses a wrong key, a wrong context, tampering and garbage with DecryptionError', () => {
  const sealed = seal(key, 'secret', 'row:1');
  const [version, nonce, body, tag] = sealed.split('.') as [string, string, string, string];
  const flipFirst = (part: string) => {
    const bytes = Buffer.from(part, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    return bytes.toString('base64url');
  };
  const attempts: [string, () => string][] = [
    ['wrong key', () => open(randomBytes(32), sealed, 'row:1')],
    ['wrong context', () => open(key, sealed, 'row:2')],
    ['tampered body', () => open(key, [version, nonce, flipFirst(body), tag].join('.'), 'row:1')],
    ['tampered tag', () => open(key, [version, nonce, body, flipFirst(tag)].join('.'), 'row:1')],
    ['tampered nonce', () => open(key, [version, flipFirst(nonce), body, tag].join('.'), 'row:1')],
    ['unknown version', () => open(key, ['v9', nonce, body, tag].join('.'), 'row:1')],
    ['missing parts', () => open(key, 'v1.abc', 'row:1')],
  ];
  for (const [what, attempt] of attempts) assert.throws(attempt, DecryptionError, what);
});
