import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWellFormedVerifier, s256Challenge, verifyS256 } from '../../src/oauth/pkce.js';

describe('PKCE S256 (RFC 7636)', () => {
  it('derives the challenge of the RFC 7636 appendix B example', () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    assert.equal(s256Challenge(verifier), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    assert.equal(verifyS256(verifier, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), true);
  });

  it('a different verifier does not match the challenge', () => {
    const challenge = s256Challenge('a'.repeat(43));
    assert.equal(verifyS256('b'.repeat(43), challenge), false);
  });

  it('the verifier itself is not accepted as its own challenge (no plain method)', () => {
    const verifier = 'c'.repeat(43);
    assert.equal(verifyS256(verifier, verifier), false);
  });

  it('verifiers shorter than 43 or longer than 128 characters fail even when the hash matches', () => {
    for (const verifier of ['x'.repeat(42), 'x'.repeat(129)]) {
      assert.equal(isWellFormedVerifier(verifier), false);
      assert.equal(verifyS256(verifier, s256Challenge(verifier)), false);
    }
    assert.equal(verifyS256('x'.repeat(43), s256Challenge('x'.repeat(43))), true);
    assert.equal(verifyS256('x'.repeat(128), s256Challenge('x'.repeat(128))), true);
  });

  it('verifiers with characters outside the unreserved set fail even when the hash matches', () => {
    for (const bad of ['+', '/', '=', ' ', '%', 'é']) {
      const verifier = `${'v'.repeat(42)}${bad}`;
      assert.equal(verifyS256(verifier, s256Challenge(verifier)), false, bad);
    }
    const unreserved = `${'A'.repeat(39)}-._~`;
    assert.equal(verifyS256(unreserved, s256Challenge(unreserved)), true);
  });
});
