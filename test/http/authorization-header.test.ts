import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken, decodeBasic, parseAuthorization } from '../../src/http/authorization-header.js';

describe('the Authorization header', () => {
  it('splits a scheme (case-insensitive) from its credentials, trimmed; nothing for no header or a malformed one', () => {
    assert.deepEqual(parseAuthorization('Bearer abc'), { scheme: 'bearer', credentials: 'abc' });
    assert.deepEqual(parseAuthorization('  BASIC   dXNlcjpwdw==  '), { scheme: 'basic', credentials: 'dXNlcjpwdw==' });
    assert.deepEqual(parseAuthorization('Bearer'), { scheme: 'bearer', credentials: '' });
    assert.equal(parseAuthorization(undefined), undefined);
    assert.equal(parseAuthorization('   '), undefined);
    assert.equal(parseAuthorization('(bad) x'), undefined);
  });

  it('a Bearer token only from the Bearer scheme; an empty one is empty, not absent', () => {
    assert.equal(bearerToken('bearer gth_at_1'), 'gth_at_1');
    assert.equal(bearerToken('Bearer'), '');
    assert.equal(bearerToken('bearer   abc '), 'abc');
    assert.equal(bearerToken('Bearer '), '');
    assert.equal(bearerToken('Bearerabc'), undefined);
    assert.equal(bearerToken('Basic dXNlcjpwdw=='), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  it('Basic credentials are base64 of user:password; the password may hold colons; anything else is refused', () => {
    assert.deepEqual(decodeBasic(Buffer.from('ada:pa:ss').toString('base64')), { user: 'ada', password: 'pa:ss' });
    assert.deepEqual(decodeBasic(Buffer.from(':secret').toString('base64')), { user: '', password: 'secret' });
    assert.equal(decodeBasic(Buffer.from('no-colon').toString('base64')), undefined);
    assert.equal(decodeBasic('not base64!'), undefined);
    assert.equal(decodeBasic(''), undefined);
  });
});
