import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toolPermitted, upstreamVisibleTo } from '../../src/gateway/policy.js';

describe('gateway policy', () => {
  it('an upstream without allowed_users is visible to everyone', () => {
    assert.equal(upstreamVisibleTo({}, { username: 'ann' }), true);
  });

  it('an upstream with allowed_users is visible only to those users', () => {
    const settings = { allowed_users: ['ann'] };
    assert.equal(upstreamVisibleTo(settings, { username: 'ann' }), true);
    assert.equal(upstreamVisibleTo(settings, { username: 'bob' }), false);
    assert.equal(upstreamVisibleTo({ allowed_users: [] }, { username: 'ann' }), false);
  });

  it('an upstream with allowed_groups is visible to members of one of them, and either list grants', () => {
    const settings = { allowed_groups: ['eng', 'ops'] };
    assert.equal(upstreamVisibleTo(settings, { username: 'ann', groups: ['sales', 'ops'] }), true);
    assert.equal(upstreamVisibleTo(settings, { username: 'bob', groups: ['sales'] }), false);
    assert.equal(upstreamVisibleTo(settings, { username: 'cy' }), false, 'a user without groups');
    const both = { allowed_users: ['ann'], allowed_groups: ['eng'] };
    assert.equal(upstreamVisibleTo(both, { username: 'ann', groups: [] }), true, 'named user');
    assert.equal(upstreamVisibleTo(both, { username: 'bob', groups: ['eng'] }), true, 'member of a named group');
    assert.equal(upstreamVisibleTo(both, { username: 'cy', groups: ['ops'] }), false);
  });

  it('every tool passes when the allow list is absent or a star', () => {
    assert.equal(toolPermitted({}, 'anything'), true);
    assert.equal(toolPermitted({ tools_to_execute: ['*'] }, 'anything'), true);
  });

  it('an allow list admits only the tools it names', () => {
    assert.equal(toolPermitted({ tools_to_execute: ['read'] }, 'read'), true);
    assert.equal(toolPermitted({ tools_to_execute: ['read'] }, 'write'), false);
    assert.equal(toolPermitted({ tools_to_execute: [] }, 'read'), false);
  });

  it('the deny list wins over the allow list', () => {
    assert.equal(toolPermitted({ tools_to_execute: ['*'], tools_to_skip: ['drop'] }, 'drop'), false);
    assert.equal(toolPermitted({ tools_to_execute: ['drop'], tools_to_skip: ['drop'] }, 'drop'), false);
    assert.equal(toolPermitted({ tools_to_skip: ['drop'] }, 'keep'), true);
  });
});
