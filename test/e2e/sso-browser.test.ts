import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { TestApp } from '../helpers/app.js';
import { authorizeQuery, pkcePair, registerTestClient } from '../helpers/browserless.js';
import { startAppWithCompanyIdp } from '../helpers/company-sign-in.js';
import { launchChromium, startCallbackServer } from '../helpers/browser.js';

describe('company sign-in in a real browser', () => {
  let t: TestApp;
  let close: () => Promise<void>;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;

  before(async () => {
    ({ t, close } = await startAppWithCompanyIdp({
      accounts: { 'sub-alice': { preferred_username: 'alice', groups: ['staff'] } },
      provider: { allowed_groups: ['staff'] },
      passwordLogin: false,
    }));
    callback = await startCallbackServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => callback?.server.close(resolve));
    await close?.();
  });

  it('an MCP client authorization runs through the IdP: sign-in page, IdP, back, consent, code', async () => {
    const clientId = await registerTestClient(t.runtime, { redirect_uris: [callback.url], client_name: 'SSO Browser Client' });
    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    // Gatehouse's pages must produce no errors (CSP violations, failed loads); the IdP's own (a missing favicon) are not ours.
    page.on('console', (message) => {
      if (message.type() === 'error' && message.location().url.startsWith(t.url!)) problems.push(message.text());
    });

    await page.goto(`${t.url}${authorizeQuery({ client_id: clientId, redirect_uri: callback.url, state: 'sso-state', code_challenge: pkcePair().challenge })}`);
    assert.match(page.url(), /\/login\?next=/);
    assert.equal(await page.getByLabel('Password').count(), 0, 'password_login false hides the password form');
    await Promise.all([page.waitForURL(/\/interaction\//), page.getByRole('link', { name: 'Sign in with Acme' }).click()]);

    await page.getByLabel('Company username').fill('sub-alice');
    await Promise.all([page.waitForURL(/\/oauth\/consent\?flow_id=/), page.getByRole('button', { name: 'Continue' }).click()]);
    const main = await page.locator('main').innerText();
    assert.match(main, /Allow SSO Browser Client to use your Gatehouse\?/);
    assert.match(main, /Signed in as alice/);

    await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.getByRole('button', { name: 'Allow' }).click()]);
    const query = callback.received.at(-1)!;
    assert.match(query.get('code') ?? '', /^gth_ac_/);
    assert.equal(query.get('state'), 'sso-state');
    const cookies = await page.context().cookies(t.url);
    assert.ok(!cookies.some((cookie) => cookie.name === 'gatehouse_sso'), 'the pending sign-in cookie is gone');
    assert.deepEqual(problems, [], 'no CSP violations on the way');
    await page.context().close();
  });
});
