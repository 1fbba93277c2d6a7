import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { passwordLogin } from '../../src/identity/login.js';
import { PAGE_SECURITY_HEADERS } from '../../src/web/page.js';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';

function signIn(t: TestApp, fields: Record<string, string>, headers: Record<string, string> = {}, remoteAddress?: string) {
  return t.app.inject({ method: 'POST', url: '/login', payload: new URLSearchParams(fields).toString(), remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

function sessionCookie(res: LightMyRequestResponse) {
  const cookie = res.cookies.find((c) => c.name.endsWith('gatehouse_session'));
  assert.ok(cookie, 'a session cookie is set');
  return cookie as typeof cookie & { sameSite?: string; httpOnly?: boolean; secure?: boolean; path?: string };
}

function homeWith(t: TestApp, cookie: { name: string; value: string }) {
  return t.app.inject({ method: 'GET', url: '/', cookies: { [cookie.name]: cookie.value } });
}

/** The throttle's clock stands still, so a block never runs out while the test runs. */
function freezeLoginClock(t: TestApp) {
  const frozen = Date.now();
  t.runtime.login = passwordLogin(t.runtime.store.users, t.runtime.store.loginFailures, t.config.loginThrottle, { now: () => frozen });
}

describe('sign-in pages over http', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('the sign-in page is a form posting username, password and next to /login, with the security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/login?next=%2Foauth%2Fconsent%3Fflow_id%3Dabc' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html; charset=utf-8/);
    for (const [name, value] of Object.entries(PAGE_SECURITY_HEADERS)) assert.equal(res.headers[name], value, name);
    assert.match(res.headers['content-security-policy'] as string, /frame-ancestors 'none'/);
    assert.match(res.body, /<form method="post" action="\/login">/);
    assert.match(res.body, /<input type="text" id="username" name="username"[^>]*autocomplete="username"/);
    assert.match(res.body, /<input type="password" id="password" name="password"[^>]*autocomplete="current-password"/);
    assert.match(res.body, /<input type="hidden" name="next" value="\/oauth\/consent\?flow_id=abc">/);
    assert.match(res.body, /<label for="username">/);
  });

  it('signing in sets an HttpOnly, SameSite=Lax session cookie on / and redirects home with 303', async () => {
    const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/');
    const cookie = sessionCookie(res);
    assert.equal(cookie.name, 'gatehouse_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.notEqual(cookie.secure, true);
    const home = await homeWith(t, cookie);
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /Signed in as <strong>admin<\/strong>/);
    assert.match(home.body, /<form method="post" action="\/logout">/);
    assert.equal(home.headers['x-frame-options'], 'DENY');
  });

  it('the home page sends a visitor without a session to the sign-in page', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/login');
  });

  it('a signed-in browser opening the sign-in page goes straight to next', async () => {
    const cookie = sessionCookie(await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }));
    const res = await t.app.inject({ method: 'GET', url: '/login?next=/somewhere', cookies: { [cookie.name]: cookie.value } });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/somewhere');
  });

  for (const next of ['/a/..//evil.example/x', '/.//evil.example/x', '/.%2e//evil.example/x', '/%2e%2e//evil.example/x', '/%5c/evil.example']) {
    it(`a signed-in browser is never sent off-site by next=${next}`, async () => {
      const cookie = sessionCookie(await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }));
      const res = await t.app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent(next)}`, cookies: { [cookie.name]: cookie.value } });
      assert.equal(res.statusCode, 303);
      const location = res.headers.location as string;
      assert.equal(new URL(location, 'https://gh.example/login').origin, 'https://gh.example', location);
    });
  }

  it('signing out revokes the session server-side, clears the cookie and redirects to /login', async () => {
    const cookie = sessionCookie(await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }));
    const res = await t.app.inject({ method: 'POST', url: '/logout', cookies: { [cookie.name]: cookie.value } });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/login');
    const cleared = sessionCookie(res);
    assert.equal(cleared.value, '');
    assert.ok(cleared.expires instanceof Date && cleared.expires.getTime() <= Date.now(), 'the cookie is expired');
    // Replaying the old cookie, as a stolen copy would, no longer works.
    assert.equal((await homeWith(t, cookie)).statusCode, 303);
  });

  it('signing out with a safe next leads back to sign-in for it; a foreign next is dropped', async () => {
    const signOut = async (next: string) => {
      const cookie = sessionCookie(await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }));
      return t.app.inject({
        method: 'POST',
        url: '/logout',
        cookies: { [cookie.name]: cookie.value },
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ next }).toString(),
      });
    };
    const back = await signOut('/oauth/consent?flow_id=abc');
    assert.equal(back.statusCode, 303);
    assert.equal(back.headers.location, `/login?next=${encodeURIComponent('/oauth/consent?flow_id=abc')}`);
    assert.equal((await signOut('//evil.example/x')).headers.location, '/login');
  });

  it('a safe local next is honoured after signing in', async () => {
    const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD, next: '/oauth/consent?flow_id=abc' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/oauth/consent?flow_id=abc');
  });

  for (const next of ['//evil.example', 'https://evil.example', '/\\evil.example', '/\t/evil.example', 'javascript:alert(1)', '/a/..//evil.example/x', '/.%2e//evil.example/x']) {
    it(`an open-redirect attempt in next (${JSON.stringify(next)}) lands on /`, async () => {
      const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD, next });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/');
    });
  }

  it('a sign-in posted from another origin is refused with 403 and no session', async () => {
    const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, { origin: 'https://evil.example' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.cookies.length, 0);
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it('a sign-in a browser marks as cross-site is refused with 403', async () => {
    const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, { 'sec-fetch-site': 'cross-site' });
    assert.equal(res.statusCode, 403);
  });

  it('a sign-in from our own origin is accepted', async () => {
    const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, { origin: new URL(t.config.publicUrl).origin, 'sec-fetch-site': 'same-origin' });
    assert.equal(res.statusCode, 303);
  });

  it('a sign-out posted from another origin is refused and the session survives', async () => {
    const cookie = sessionCookie(await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }));
    const res = await t.app.inject({ method: 'POST', url: '/logout', cookies: { [cookie.name]: cookie.value }, headers: { origin: 'https://evil.example' } });
    assert.equal(res.statusCode, 403);
    assert.equal((await homeWith(t, cookie)).statusCode, 200);
  });

  it('HTML in the username is escaped when the form is shown again', async () => {
    const res = await signIn(t, { username: '"><script>alert(1)</script>', password: 'whatever-password' });
    assert.equal(res.statusCode, 401);
    assert.ok(!res.body.includes('<script>'));
    assert.match(res.body, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
  });

  it('missing or oversized fields get a 400 page, never a 500', async () => {
    const forms: Record<string, string>[] = [{ username: 'admin' }, { password: 'x' }, {}, { username: 'admin', password: 'x'.repeat(5000) }, { username: 'u'.repeat(300), password: 'x' }];
    for (const fields of forms) {
      const res = await signIn(t, fields);
      assert.equal(res.statusCode, 400, JSON.stringify(Object.keys(fields)));
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      assert.equal(res.headers['content-security-policy'], PAGE_SECURITY_HEADERS['content-security-policy']);
    }
  });

  it('a body of an unsupported type gets a 4xx page, never a 500', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/login', payload: '<x/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(res.statusCode, 415);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
  });
});

describe('wrong credentials and throttling', () => {
  it('an unknown user, a wrong password and a disabled account get byte-identical 401 answers', async () => {
    const t = await startTestApp();
    try {
      const attempt = (password: string) => signIn(t, { username: 'carol', password });
      const unknown = await attempt('carol-password-1');
      await t.runtime.users.create({ username: 'carol', password: 'carol-password-1' });
      const wrong = await attempt('not-her-password');
      await t.runtime.users.disable('carol');
      const disabled = await attempt('carol-password-1');
      for (const res of [unknown, wrong, disabled]) {
        assert.equal(res.statusCode, 401);
        assert.equal(res.cookies.length, 0);
      }
      assert.equal(wrong.body, unknown.body);
      assert.equal(disabled.body, unknown.body);
      assert.match(unknown.body, /Wrong username or password\./);
    } finally {
      await t.close();
    }
  });

  it('per account: after the free failures the account answers 429 with Retry-After, even with the right password', async () => {
    const t = await startTestApp({ flags: { loginThrottle: { accountFreeFailures: 2, ipFreeFailures: 100 } } });
    try {
      freezeLoginClock(t);
      for (let i = 0; i < 2; i++) assert.equal((await signIn(t, { username: 'admin', password: 'wrong-password' })).statusCode, 401);
      const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD });
      assert.equal(res.statusCode, 429);
      assert.equal(res.headers['retry-after'], '1');
      assert.match(res.body, /Too many failed sign-in attempts\. Try again in 1 second\./);
      assert.equal(res.cookies.length, 0);
      // Another account from the same address is not affected.
      await t.runtime.users.create({ username: 'bob', password: 'bob-password-1' });
      assert.equal((await signIn(t, { username: 'bob', password: 'bob-password-1' })).statusCode, 303);
    } finally {
      await t.close();
    }
  });

  it('parallel wrong passwords: only the free attempts are checked (401), the rest and the right password after them get 429', async () => {
    const t = await startTestApp({ flags: { loginThrottle: { accountFreeFailures: 3, ipFreeFailures: 100 } } });
    try {
      freezeLoginClock(t);
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn(t, { username: 'admin', password: `wrong-guess-${i}` })));
      assert.deepEqual(answers.map((res) => res.statusCode).sort(), [...Array(3).fill(401), ...Array(9).fill(429)]);
      assert.equal((await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD })).statusCode, 429);
    } finally {
      await t.close();
    }
  });

  it('an account kept blocked from one address still signs in from another; the blocking address stays refused', async () => {
    const t = await startTestApp({ flags: { loginThrottle: { accountFreeFailures: 2, ipFreeFailures: 100 } } });
    try {
      freezeLoginClock(t);
      for (let i = 0; i < 3; i++) await signIn(t, { username: 'admin', password: 'wrong-password' }, {}, '203.0.113.66');
      assert.equal((await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, {}, '203.0.113.66')).statusCode, 429);
      assert.equal((await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, {}, '198.51.100.7')).statusCode, 303);
    } finally {
      await t.close();
    }
  });

  it('per IP: after the free failures across many usernames the address answers 429, other addresses do not', async () => {
    const t = await startTestApp({ flags: { loginThrottle: { accountFreeFailures: 100, ipFreeFailures: 3 } } });
    try {
      freezeLoginClock(t);
      for (const name of ['u1', 'u2', 'u3']) assert.equal((await signIn(t, { username: name, password: 'guess-password' }, {}, '203.0.113.9')).statusCode, 401);
      const blocked = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, {}, '203.0.113.9');
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.headers['retry-after'], '1');
      assert.equal((await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, {}, '198.51.100.7')).statusCode, 303);
    } finally {
      await t.close();
    }
  });
});

describe('sessions end when the account changes', () => {
  it('disabling the user ends their signed-in session', async () => {
    const t = await startTestApp();
    try {
      await t.runtime.users.create({ username: 'leaver', password: 'leaver-password-1' });
      const cookie = sessionCookie(await signIn(t, { username: 'leaver', password: 'leaver-password-1' }));
      assert.equal((await homeWith(t, cookie)).statusCode, 200);
      await t.runtime.users.disable('leaver');
      assert.equal((await homeWith(t, cookie)).statusCode, 303);
    } finally {
      await t.close();
    }
  });

  it('changing the password ends the signed-in session', async () => {
    const t = await startTestApp();
    try {
      const cookie = sessionCookie(await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }));
      await t.runtime.users.setPassword('admin', 'another-admin-password');
      assert.equal((await homeWith(t, cookie)).statusCode, 303);
    } finally {
      await t.close();
    }
  });
});

describe('sign-in over https', () => {
  it('the session cookie is __Host- prefixed and Secure when the public URL is https', async () => {
    const t = await startTestApp({ flags: { publicUrl: 'https://gh.example' } });
    try {
      const res = await signIn(t, { username: 'admin', password: TEST_ADMIN_PASSWORD }, { origin: 'https://gh.example' });
      assert.equal(res.statusCode, 303);
      const cookie = sessionCookie(res);
      assert.equal(cookie.name, '__Host-gatehouse_session');
      assert.equal(cookie.secure, true);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      assert.equal((cookie as { domain?: string }).domain, undefined);
      assert.equal((await homeWith(t, cookie)).statusCode, 200);
    } finally {
      await t.close();
    }
  });
});
