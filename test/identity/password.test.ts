import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unusablePasswordHash, verifyPassword } from '../../src/identity/password.js';

describe('password hashes of accounts that sign in otherwise', () => {
  it('are real scrypt hashes, each different, that no guess matches', async () => {
    const [first, second] = await Promise.all([unusablePasswordHash(), unusablePasswordHash()]);
    assert.match(first, /^scrypt\$/, 'verified with the same work as any password');
    assert.notEqual(first, second);
    for (const guess of ['', 'password', first]) assert.equal(await verifyPassword(guess, first), false);
  });
});
