import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { newId } from '../../src/crypto/random.js';
import type { OAuthUpstream } from '../fixtures/oauth-upstreams/protected-mcp.js';
import { startSdkAuthUpstream } from '../fixtures/oauth-upstreams/sdk-auth-upstream.js';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { authorizeQuery, pkcePair, registerTestClient } from '../helpers/browserless.js';
import { launchChromium, startCallbackServer } from '../helpers/browser.js';

describe('sign-in and consent in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let upstream: OAuthUpstream;

  before(async () => {
    upstream = await startSdkAuthUpstream();
    t = await startTestApp({ listen: true, flags: { allowPrivateNetworks: true } });
    callback = await startCallbackServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => callback?.server.close(resolve));
    await t?.close();
    await upstream?.close();
  });

  it('an authorization runs through sign-in and consent to the client callback with code, state and iss', async () => {
    // Registered without a port, as native apps do; the browser is sent to the port the client listens on.
    const clientId = await registerTestClient(t.runtime, { redirect_uris: ['http://127.0.0.1/callback'], client_name: 'Browser Test Client' });
    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });

    await page.goto(`${t.url}${authorizeQuery({ client_id: clientId, redirect_uri: callback.url, state: 'browser-state', code_challenge: pkcePair().challenge })}`);
    assert.match(page.url(), /\/login\?next=/, 'not signed in: the sign-in page');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(/\/oauth\/consent\?flow_id=/), page.getByRole('button', { name: 'Sign in' }).click()]);

    const main = await page.locator('main').innerText();
    assert.match(main, /Allow Browser Test Client to use your Gatehouse\?/);
    assert.match(main, /Unverified application/);
    assert.match(main, /127\.0\.0\.1:\d+ \(an application on this computer\)/);
    assert.match(main, /Signed in as admin/);
    const cookies = await page.context().cookies();
    const flowCookie = cookies.find((c) => c.name.startsWith('gatehouse_flow_'));
    assert.deepEqual([flowCookie?.httpOnly, flowCookie?.sameSite], [true, 'Lax']);
    await page.screenshot({ path: '/tmp/consent.png', fullPage: true });

    // The keyboard reaches the Allow button (no JavaScript on the page).
    await page.getByRole('button', { name: 'Allow' }).focus();
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.keyboard.press('Enter')]);

    assert.equal(callback.received.length, 1);
    const query = callback.received[0]!;
    assert.match(query.get('code') ?? '', /^gth_ac_/);
    assert.equal(query.get('state'), 'browser-state');
    assert.equal(query.get('iss'), t.config.publicUrl);
    assert.ok(!(await page.context().cookies()).some((c) => c.name.startsWith('gatehouse_flow_')), 'the flow cookie is gone');
    assert.deepEqual(problems, [], 'no CSP violations on the way (form-action allows the redirect)');
    await page.context().close();
  });

  it('with consent remembered, signing in again shows the page once (a redirect after the sign-in form would be blocked), then it is skipped', async () => {
    const clientId = await registerTestClient(t.runtime, { redirect_uris: [callback.url] });
    const user = (await t.runtime.users.list())[0]!;
    await t.runtime.store.consents.save({ userId: user.id, clientId, resource: `${t.config.publicUrl}/mcp`, scope: 'mcp:read mcp:write', grantedAt: Date.now() });
    const page = await (await browser.newContext()).newPage();
    const authorizeUrl = (state: string) => `${t.url}${authorizeQuery({ client_id: clientId, redirect_uri: callback.url, state })}`;
    await page.goto(authorizeUrl('after-sign-in'));
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(/\/oauth\/consent\?flow_id=/), page.getByRole('button', { name: 'Sign in' }).click()]);
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.getByRole('button', { name: 'Allow' }).click()]);
    assert.equal(callback.received.at(-1)!.get('state'), 'after-sign-in');

    // Signed in now, the remembered consent sends the browser straight back.
    await page.goto(authorizeUrl('silent'));
    assert.ok(page.url().startsWith(callback.url), page.url());
    assert.equal(callback.received.at(-1)!.get('state'), 'silent');
    assert.match(callback.received.at(-1)!.get('code') ?? '', /^gth_ac_/);
    await page.context().close();
  });

  it('the user ticks a per-user upstream at consent, connects it at the upstream, and the client gets its code', async () => {
    const upstreamId = newId('ups');
    const settings = { name: 'docs', connection_type: 'http', connection_string: upstream.mcpUrl, auth_type: 'per_user_oauth', timeout_ms: 5000 };
    await t.runtime.store.upstreams.create({ id: upstreamId, name: 'docs', source: 'api', config: JSON.stringify(settings), sealedSecrets: null, createdAt: Date.now(), updatedAt: Date.now() });
    const clientId = await registerTestClient(t.runtime, { redirect_uris: [callback.url], client_name: 'Chain Client' });
    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      // The upstream fixture serves no favicon: only Gatehouse's own pages must be free of errors.
      if (message.type() === 'error' && message.location().url.startsWith(t.url!)) problems.push(message.text());
    });

    await page.goto(`${t.url}${authorizeQuery({ client_id: clientId, redirect_uri: callback.url, state: 'chain-state' })}`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(/\/oauth\/consent\?flow_id=/), page.getByRole('button', { name: 'Sign in' }).click()]);

    assert.equal(await page.getByRole('group', { name: 'Also connect your accounts now' }).isVisible(), true);
    const checkbox = page.getByRole('checkbox', { name: `docs (${new URL(upstream.mcpUrl).host})` });
    assert.equal(await checkbox.isVisible(), true);
    assert.equal(await checkbox.isChecked(), false, 'unchecked until the user ticks it');
    await page.screenshot({ path: '/tmp/consent-connect.png', fullPage: true });
    await checkbox.check();
    await Promise.all([page.waitForURL(/\/oauth\/consent$/), page.getByRole('button', { name: 'Allow' }).click()]);
    assert.match(await page.locator('h1').innerText(), /Connect docs/);

    await Promise.all([page.waitForURL((url) => url.href.startsWith(upstream.issuer)), page.getByRole('link', { name: /^Continue to / }).click()]);
    await page.locator('input[name="username"]').fill('admin-at-upstream');
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.url)), page.getByRole('button', { name: 'Allow' }).click()]);

    const query = callback.received.at(-1)!;
    assert.equal(query.get('state'), 'chain-state');
    assert.match(query.get('code') ?? '', /^gth_ac_/);
    assert.equal(query.get('iss'), t.config.publicUrl);
    const admin = (await t.runtime.users.list()).find((user) => user.username === 'admin')!;
    assert.equal((await t.runtime.outbound.vault.status(upstreamId, admin.id)).state, 'active');
    assert.deepEqual(problems, [], 'no CSP violations on the way');
    await page.context().close();
  });
});
