import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminFlag, groupsFrom, mayUseGatehouse, usernameCandidates } from '../../src/sso/provisioning.js';

describe('company sign-in provisioning rules', () => {
  it('reads groups as a list, a single string, or nothing, without duplicates or non-strings', () => {
    assert.deepEqual(groupsFrom({ groups: ['a', 'b', 'a', 3, ''] }, 'groups'), ['a', 'b']);
    assert.deepEqual(groupsFrom({ roles: 'admin' }, 'roles'), ['admin']);
    assert.deepEqual(groupsFrom({}, 'groups'), []);
  });

  it('allowed_groups admits members of any listed group; without it everyone', () => {
    assert.equal(mayUseGatehouse({ allowed_groups: ['staff'] }, ['staff', 'x']), true);
    assert.equal(mayUseGatehouse({ allowed_groups: ['staff'] }, ['x']), false);
    assert.equal(mayUseGatehouse({ allowed_groups: [] }, ['x']), false);
    assert.equal(mayUseGatehouse({}, []), true);
  });

  it('admin_groups decide the admin flag both ways; without them the flag stays', () => {
    assert.equal(adminFlag({ admin_groups: ['admins'] }, ['admins'], false), true);
    assert.equal(adminFlag({ admin_groups: ['admins'] }, ['staff'], true), false);
    assert.equal(adminFlag({ admin_groups: [] }, ['admins'], true), true);
    assert.equal(adminFlag({ admin_groups: [] }, ['admins'], false), false);
  });

  it('takes the username from preferred_username, then email, made fit for a username, then suffixed', () => {
    const okta = { id: 'okta' };
    assert.deepEqual(usernameCandidates(okta, { preferred_username: 'Ada Lovelace', email: 'ada@x.example' }).slice(0, 3), ['ada-lovelace', 'ada-lovelace-okta', 'ada-lovelace-okta-2']);
    assert.equal(usernameCandidates(okta, { email: 'Ada@X.example' })[0], 'ada@x.example');
    assert.equal(usernameCandidates({ id: 'okta', username_claim: 'upn' }, { upn: 'a.b@corp', preferred_username: 'ignored' })[0], 'a.b@corp');
    assert.deepEqual(usernameCandidates(okta, { preferred_username: '!!!' }), []);
    assert.ok(usernameCandidates(okta, { preferred_username: 'x'.repeat(80) }).every((name) => name.length <= 64));
  });
});
