import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPOSED_NAME, exposedName, hasUpstreamPrefix, upstreamNameMap } from '../../src/gateway/tool-names.js';

describe('exposed tool names', () => {
  it('prefixes a short name with the upstream name and an underscore', () => {
    assert.equal(exposedName('github', 'create_issue'), 'github_create_issue');
  });

  it('the same tool name on two upstreams gives two names', () => {
    assert.notEqual(exposedName('alpha', 'search'), exposedName('beta', 'search'));
  });

  it('shortens a name that would exceed 64 characters, deterministically, and keeps it valid', () => {
    const long = 'x'.repeat(70);
    const name = exposedName('files', long);
    assert.ok(name.length <= 64, name);
    assert.match(name, EXPOSED_NAME);
    assert.equal(name, exposedName('files', long));
    assert.ok(hasUpstreamPrefix(name, 'files'));
  });

  it('two long names sharing their first 64 characters stay distinct', () => {
    const a = exposedName('files', `${'y'.repeat(70)}_a`);
    const b = exposedName('files', `${'y'.repeat(70)}_b`);
    assert.notEqual(a, b);
  });

  it('a name with characters clients refuse (dots) is rewritten into the allowed set', () => {
    const name = exposedName('docs', 'search.v2');
    assert.match(name, EXPOSED_NAME);
    assert.notEqual(name, exposedName('docs', 'search_v2'));
  });

  it('maps both ways exactly, even when a tool is named like another tool’s shortened form', () => {
    const long = 'z'.repeat(70);
    const shortened = exposedName('u', long);
    const impostor = shortened.slice('u_'.length);
    const names = upstreamNameMap('u', [long, impostor, 'plain']);
    const exposed = [long, impostor, 'plain'].map((original) => names.exposed(original)!);
    assert.equal(new Set(exposed).size, 3);
    for (const [index, original] of [long, impostor, 'plain'].entries()) {
      assert.equal(names.original(exposed[index]!), original);
      assert.match(exposed[index]!, EXPOSED_NAME);
    }
    assert.equal(names.original('u_unknown'), undefined);
  });
});
