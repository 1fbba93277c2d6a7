import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPOSED_NAME, exposedName, exposedNames, hasUpstreamPrefix, upstreamNameMap, type NamedUpstream } from '../../src/gateway/tool-names.js';

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

describe('bare names (tool_name_prefix: false)', () => {
  const upstream = (name: string, prefixed: boolean, originals: string[] | undefined): NamedUpstream => ({ id: `id-${name}`, name, prefixed, originals });

  /** Every (upstream, original) pair's exposed name, and a check that each maps back exactly. */
  function exposedAll(upstreams: NamedUpstream[]): Record<string, string> {
    const names = exposedNames(upstreams);
    const all: Record<string, string> = {};
    for (const { id, name, originals } of upstreams) {
      for (const original of originals ?? []) {
        const exposed = names.exposed(id, original)!;
        assert.match(exposed, EXPOSED_NAME);
        assert.deepEqual(names.resolve(exposed), { upstreamId: id, original });
        all[`${name}:${original}`] = exposed;
      }
    }
    assert.equal(new Set(Object.values(all)).size, Object.keys(all).length, 'every exposed name is distinct');
    return all;
  }

  it('an unprefixed upstream keeps its names, next to prefixed upstreams', () => {
    const names = exposedAll([upstream('conf', false, ['test_simple_text', 'echo']), upstream('web', true, ['echo'])]);
    assert.deepEqual(names, { 'conf:test_simple_text': 'test_simple_text', 'conf:echo': 'echo', 'web:echo': 'web_echo' });
  });

  it('a bare name that starts with an upstream name and _ stays prefixed, whether or not that upstream lists it', () => {
    const names = exposedNames([upstream('plain', false, ['web_echo', 'web_search', 'plain_x']), upstream('web', true, ['echo'])]);
    assert.equal(names.exposed('id-plain', 'web_echo'), 'plain_web_echo');
    assert.equal(names.exposed('id-plain', 'web_search'), 'plain_web_search');
    assert.equal(names.exposed('id-plain', 'plain_x'), 'plain_plain_x');
    assert.deepEqual(names.resolve('web_echo'), { upstreamId: 'id-web', original: 'echo' });
    assert.deepEqual(
      names.collisions.map(({ original, exposedAs, reason }) => [original, exposedAs, reason]),
      [
        ['web_echo', 'plain_web_echo', 'starts with an upstream name and _'],
        ['web_search', 'plain_web_search', 'starts with an upstream name and _'],
        ['plain_x', 'plain_plain_x', 'starts with an upstream name and _'],
      ],
    );
  });

  it('two unprefixed upstreams listing the same name both show it prefixed, reported; their other names stay bare', () => {
    const upstreams = [upstream('a', false, ['search', 'only_a']), upstream('b', false, ['search'])];
    const names = exposedAll(upstreams);
    assert.deepEqual(names, { 'a:search': 'a_search', 'a:only_a': 'only_a', 'b:search': 'b_search' });
    assert.equal(exposedNames(upstreams).resolve('search'), undefined);
    assert.deepEqual(
      exposedNames(upstreams).collisions.map(({ upstream: name, original, reason }) => [name, original, reason]),
      [
        ['a', 'search', 'listed by another unprefixed upstream'],
        ['b', 'search', 'listed by another unprefixed upstream'],
      ],
    );
  });

  it('the result does not depend on the order of the upstreams', () => {
    const upstreams = [upstream('a', false, ['search', 'x']), upstream('b', false, ['search', 'y']), upstream('c', true, ['search'])];
    assert.deepEqual(exposedAll(upstreams), exposedAll([...upstreams].reverse()));
  });

  it('while another unprefixed upstream’s list is unknown, names stay prefixed: a bare name never changes owner', () => {
    const names = exposedNames([upstream('a', false, ['search']), upstream('b', false, undefined)]);
    assert.equal(names.exposed('id-a', 'search'), 'a_search');
    assert.equal(names.resolve('search'), undefined);
    assert.equal(names.collisions[0]?.reason, 'another unprefixed upstream has not listed yet');
    // A prefixed upstream whose list is unknown takes nothing from anyone.
    assert.equal(exposedNames([upstream('a', false, ['search']), upstream('b', true, undefined)]).exposed('id-a', 'search'), 'search');
  });

  it('a name clients would refuse (too long, a dot) is exposed prefixed and shortened, as for any upstream', () => {
    const long = 'l'.repeat(70);
    const names = exposedAll([upstream('u', false, [long, 'search.v2'])]);
    assert.equal(names[`u:${long}`], exposedName('u', long));
    assert.equal(names['u:search.v2'], exposedName('u', 'search.v2'));
    assert.equal(exposedNames([upstream('u', false, [long])]).collisions.length, 0, 'a normal shortening is no collision');
  });

  it('a prefixed upstream’s names are not affected by unprefixed ones', () => {
    const names = exposedAll([upstream('web', true, ['echo', 'x'.repeat(70)]), upstream('plain', false, ['echo'])]);
    assert.equal(names['web:echo'], 'web_echo');
    assert.equal(names['plain:echo'], 'echo');
    assert.equal(names[`web:${'x'.repeat(70)}`], exposedName('web', 'x'.repeat(70)));
  });
});
