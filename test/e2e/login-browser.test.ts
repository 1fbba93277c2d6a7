import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';

/** A page on another origin (another port) that tries to frame the sign-in page. */
function startFramingSite(target: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><title>framer</title><iframe id="victim" src="${target}" width="600" height="400"></iframe>`);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
    }),
  );
}

describe('sign-in in a real browser', () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;

  before(async () => {
    t = await startTestApp({ listen: true });
    url = t.url!;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openSignIn(): Promise<{ page: Page; problems: string[] }> {
    const page = await (await browser.newContext()).newPage();
    // CSP violations and failed loads show up as console errors: the page must produce none.
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    const response = await page.goto(`${url}/login`);
    assert.equal(response?.status(), 200);
    return { page, problems };
  }

  it('signing in with the form lands on the signed-in page, and signing out returns to the form', async () => {
    const { page, problems } = await openSignIn();
    // The stylesheet is allowed by the CSP and applied: the card is narrower than the window.
    assert.equal(await page.locator('main').evaluate((main) => getComputedStyle(main).maxWidth), '384px');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'username', 'the username field has focus');
    await page.screenshot({ path: '/tmp/login.png', fullPage: true });

    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(`${url}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
    assert.match(await page.locator('main').innerText(), /Signed in as admin/);
    const cookies = await page.context().cookies();
    assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.sameSite]), [['gatehouse_session', true, 'Lax']]);

    await Promise.all([page.waitForURL(`${url}/login`), page.getByRole('button', { name: 'Sign out' }).click()]);
    assert.deepEqual(await page.context().cookies(), []);
    await page.goto(`${url}/`);
    assert.equal(page.url(), `${url}/login`, 'signed out, the home page sends the browser to sign in');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('a wrong password shows the error and keeps the username', async () => {
    const { page } = await openSignIn();
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    const [response] = await Promise.all([page.waitForResponse(`${url}/login`), page.getByRole('button', { name: 'Sign in' }).click()]);
    assert.equal(response.status(), 401);
    await page.waitForLoadState();
    assert.equal(await page.getByRole('alert').innerText(), 'Wrong username or password.');
    assert.equal(await page.getByLabel('Username').inputValue(), 'admin');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'focus is on the password to retype');
    assert.deepEqual(await page.context().cookies(), []);
    await page.context().close();
  });

  it('another site cannot frame the sign-in page', async () => {
    const framer = await startFramingSite(`${url}/login`);
    try {
      const page = await (await browser.newContext()).newPage();
      const framedResponse = page.waitForResponse(`${url}/login`);
      await page.goto(framer.url);
      const response = await framedResponse;
      assert.equal(response.headers()['x-frame-options'], 'DENY');
      assert.match(response.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
      await page.waitForLoadState('load');
      const frame = page.frames().find((f) => f !== page.mainFrame());
      assert.ok(frame, 'the iframe exists');
      // Chromium replaces a refused frame with its error page: the form never renders inside the iframe.
      assert.notEqual(frame.url(), `${url}/login`);
      assert.equal(await frame.locator('input[name="password"]').count(), 0);
      await page.context().close();
    } finally {
      await new Promise((resolve) => framer.server.close(resolve));
    }
  });
});
