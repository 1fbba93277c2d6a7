import assert from 'node:assert/strict';
import { it } from 'node:test';
import { heldScopes, scopesCover } from '../../src/oauth/scopes.js';

it('gives each granted scope string its own scopes, the alias expanded, however often and in whatever order they are asked for', () => {
  for (let round = 0; round < 2; round += 1) {
    assert.deepEqual([...heldScopes('mcp:read')], ['mcp:read']);
    assert.deepEqual([...heldScopes('mcp')], ['mcp', 'mcp:read', 'mcp:write']);
    assert.deepEqual([...heldScopes('mcp:write mcp:write offline_access')], ['mcp:write', 'offline_access']);
    assert.deepEqual([...heldScopes(undefined)], []);
    assert.deepEqual([...heldScopes(null)], []);
  }
  assert.equal(scopesCover('mcp:read', ['mcp:write']), false);
  assert.equal(scopesCover('mcp', ['mcp:write']), true);
});

it('still answers for every string when more distinct ones are asked for than it keeps', () => {
  for (let index = 0; index < 200; index += 1) assert.deepEqual([...heldScopes(`mcp:read s${index}`)], ['mcp:read', `s${index}`]);
  assert.deepEqual([...heldScopes('mcp:read')], ['mcp:read']);
});
