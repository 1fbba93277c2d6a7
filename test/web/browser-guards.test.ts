import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCrossSiteFormPost, safeLocalPath } from '../../src/web/browser-guards.js';

describe('safe local paths for next', () => {
  it('keeps paths on this site, with their query and fragment', () => {
    assert.equal(safeLocalPath('/'), '/');
    assert.equal(safeLocalPath('/oauth/consent?flow_id=abc&x=%2F'), '/oauth/consent?flow_id=abc&x=%2F');
    assert.equal(safeLocalPath('/page#part'), '/page#part');
  });

  it('percent-encodes what a Location header cannot carry', () => {
    assert.equal(safeLocalPath('/é'), '/%C3%A9');
  });

  it('refuses other hosts, schemes and the tricks browsers read as other hosts', () => {
    for (const next of ['//evil.example', 'https://evil.example', '/\\evil.example', '\\\\evil.example', '/\t/evil.example', '/\n/evil.example', 'javascript:alert(1)', 'evil.example', '', ' /x']) {
      assert.equal(safeLocalPath(next), undefined, JSON.stringify(next));
    }
  });

  it('refuses what becomes another host once dot segments are resolved', () => {
    for (const next of [
      '/a/..//evil.example/x',
      '/.//evil.example/x',
      '/.%2e//evil.example/x',
      '/%2e%2E//evil.example/x',
      '/%2e/%2e%2e//evil.example',
      '/a/b/../..//evil.example',
      '/./%2e/..//evil.example',
      '/..//evil.example',
    ]) {
      assert.equal(safeLocalPath(next), undefined, JSON.stringify(next));
    }
  });

  it('refuses backslashes, tabs, newlines and absolute URLs in any spelling', () => {
    for (const next of ['/\\evil.example', '/a/..\\evil.example', '/\r\n/evil.example', '/a\t/..//evil.example', 'http:evil.example', 'HTTPS://evil.example', '\u0000/x', '/x\u007f']) {
      assert.equal(safeLocalPath(next), undefined, JSON.stringify(next));
    }
  });

  it('keeps encoded slashes and backslashes as one path segment on this site', () => {
    assert.equal(safeLocalPath('/%2f%2fevil.example'), '/%2f%2fevil.example');
    assert.equal(safeLocalPath('/%5cevil.example'), '/%5cevil.example');
    assert.equal(safeLocalPath('/%5C%5Cevil.example/x'), '/%5C%5Cevil.example/x');
    assert.equal(safeLocalPath('/a/../b'), '/b');
  });

  it('refuses values that are not strings or are too long', () => {
    assert.equal(safeLocalPath(undefined), undefined);
    assert.equal(safeLocalPath(['/a']), undefined);
    assert.equal(safeLocalPath(`/${'a'.repeat(3000)}`), undefined);
  });
});

describe('cross-site form posts', () => {
  const own = 'https://gh.example';

  it('passes clients that send neither Origin nor Sec-Fetch-Site (headless clients)', () => {
    assert.equal(isCrossSiteFormPost({}, own), false);
  });

  it('passes our own origin', () => {
    assert.equal(isCrossSiteFormPost({ origin: own, 'sec-fetch-site': 'same-origin' }, own), false);
  });

  it('passes Origin: null only when the browser says the post is same-origin', () => {
    assert.equal(isCrossSiteFormPost({ origin: 'null', 'sec-fetch-site': 'same-origin' }, own), false);
    assert.equal(isCrossSiteFormPost({ origin: 'null' }, own), true);
    assert.equal(isCrossSiteFormPost({ origin: 'null', 'sec-fetch-site': 'same-site' }, own), true);
  });

  it('refuses another origin, and anything the browser marks cross-site', () => {
    assert.equal(isCrossSiteFormPost({ origin: 'https://evil.example' }, own), true);
    assert.equal(isCrossSiteFormPost({ origin: 'http://gh.example' }, own), true);
    assert.equal(isCrossSiteFormPost({ 'sec-fetch-site': 'cross-site' }, own), true);
    assert.equal(isCrossSiteFormPost({ origin: own, 'sec-fetch-site': 'cross-site' }, own), true);
  });
});
