import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';

const provider = { id: 'okta', name: 'Okta <Corp>', issuer: 'https://acme.okta.com', client_id: 'cid', client_secret: 'sec' };

describe('sign-in page with company sign-in and password sign-in turned off', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { sso: { providers: [provider], password_login: false } } });
  });
  after(() => t.close());

  it('offers only the provider link, its name escaped, carrying a safe next', async () => {
    const page = (await t.app.inject({ method: 'GET', url: '/login?next=%2Foauth%2Fconsent%3Fflow_id%3Dabc' })).body;
    assert.match(page, /href="\/login\/oidc\/okta\?next=%2Foauth%2Fconsent%3Fflow_id%3Dabc">Sign in with Okta &lt;Corp&gt;<\/a>/);
    assert.doesNotMatch(page, /type="password"/);
    const unsafe = (await t.app.inject({ method: 'GET', url: '/login?next=https%3A%2F%2Fevil.example' })).body;
    assert.match(unsafe, /href="\/login\/oidc\/okta">/);
  });

  it('refuses a password sign-in posted anyway', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/login', payload: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /password is turned off/);
    assert.equal(res.headers['set-cookie'], undefined, 'no session');
  });
});
