import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sessionCsrf } from '../../../src/identity/session-csrf.js';
import { browserSessions } from '../../../src/identity/sessions.js';
import { CONSOLE_SECTIONS, CONSOLE_SECURITY_HEADERS } from '../../../src/web/console/console-layout.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';

describe('the console pages at /admin', () => {
  let t: TestApp;
  const cookieOf = async (username: string) => {
    const token = await browserSessions(t.runtime).open((await t.runtime.users.find(username))!, 'test');
    return { token, cookies: { gatehouse_session: token } };
  };
  before(async () => {
    t = await startTestApp();
    await t.runtime.users.create({ username: 'bob', password: 'bob-password' });
  });
  after(() => t.close());

  it('without a session every section sends the browser to the sign-in page, which comes back', async () => {
    for (const { path } of CONSOLE_SECTIONS) {
      const res = await t.app.inject({ method: 'GET', url: path });
      assert.equal(res.statusCode, 303, path);
      assert.equal(res.headers.location, `/login?next=${encodeURIComponent(path)}`);
    }
  });

  it('a signed-in user who is not an admin gets a 403 page, not the console', async () => {
    const { cookies } = await cookieOf('bob');
    for (const { path } of CONSOLE_SECTIONS) {
      const res = await t.app.inject({ method: 'GET', url: path, cookies });
      assert.equal(res.statusCode, 403, path);
      assert.match(res.body, /Admins only/);
      assert.doesNotMatch(res.body, /csrf-token|console\.js/);
    }
  });

  it("an admin gets each section with the session's CSRF token, the console's CSP and no inline script", async () => {
    const { token, cookies } = await cookieOf('admin');
    const expected = sessionCsrf(t.runtime.keys.cookieKey).tokenFor({ tokenHash: t.runtime.keys.tokenHasher.hash(token) });
    for (const { path, label } of CONSOLE_SECTIONS) {
      const res = await t.app.inject({ method: 'GET', url: path, cookies });
      assert.equal(res.statusCode, 200, path);
      for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) assert.equal(res.headers[name], value, `${path} ${name}`);
      assert.ok(res.body.includes(`<meta name="csrf-token" content="${expected}">`), path);
      assert.ok(res.body.includes(`<h1>${label}</h1>`), path);
      assert.doesNotMatch(res.body, /<script(?![^>]*\bsrc="\/static\/console\.js\?v=)[^>]*>/, 'the only script is the console module');
      assert.doesNotMatch(res.body, /\son[a-z]+="/, 'no inline event handlers');
      const ids = [...res.body.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]);
      assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], `${path}: ids are unique, so every label names its own field`);
      for (const [, target] of res.body.matchAll(/<label for="([^"]+)"/g)) assert.ok(ids.includes(target), `${path}: label for ${target}`);
    }
  });

  it('an unknown upstream is a 404 page', async () => {
    const { cookies } = await cookieOf('admin');
    assert.equal((await t.app.inject({ method: 'GET', url: '/admin/upstreams/ups_missing', cookies })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: '/admin/upstreams/%3Cscript%3E', cookies })).statusCode, 404);
  });

  it('the home page links to the console for admins only', async () => {
    const admin = await t.app.inject({ method: 'GET', url: '/', cookies: (await cookieOf('admin')).cookies });
    assert.match(admin.body, /<a href="\/admin">Admin console<\/a>/);
    const bob = await t.app.inject({ method: 'GET', url: '/', cookies: (await cookieOf('bob')).cookies });
    assert.doesNotMatch(bob.body, /Admin console/);
  });

  it('serves the script modules as JavaScript and the stylesheet as CSS', async () => {
    for (const name of ['console.js', 'console-dom.js', 'console-lists.js', 'console-upstream.js']) {
      const res = await t.app.inject({ method: 'GET', url: `/static/${name}` });
      assert.equal(res.statusCode, 200, name);
      assert.match(String(res.headers['content-type']), /^text\/javascript/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    assert.match(String((await t.app.inject({ method: 'GET', url: '/static/console.css' })).headers['content-type']), /^text\/css/);
  });
});
