import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { newId } from '../../src/crypto/random.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';

describe('upstream connections on the connected apps page, in a real browser', () => {
  let t: TestApp;
  let browser: Browser;

  before(async () => {
    t = await startTestApp({ listen: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('a user signs in, sees their connection to a per-user upstream, and disconnects it', async () => {
    const carol = await t.runtime.users.create({ username: 'carol', password: 'carol-password' });
    const upstreamId = newId('ups');
    const settings = { name: 'tracker', connection_type: 'http', connection_string: 'http://127.0.0.1:9/mcp', auth_type: 'per_user_oauth', timeout_ms: 1000 };
    await t.runtime.store.upstreams.create({ id: upstreamId, name: 'tracker', source: 'api', config: JSON.stringify(settings), sealedSecrets: null, createdAt: Date.now(), updatedAt: Date.now() });
    await t.runtime.outbound.vault.save(upstreamId, carol.id, 'https://as.example', { accessToken: 'upstream-access', tokenType: 'Bearer' });

    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${t.url}/account/apps`);
    assert.match(page.url(), /\/login\?next=%2Faccount%2Fapps$/);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-password');
    await Promise.all([page.waitForURL(/\/account\/apps$/), page.getByRole('button', { name: 'Sign in' }).click()]);

    const section = page.locator('section.upstream-connections');
    assert.equal(await section.getByRole('heading', { name: 'Upstream connections' }).count(), 1);
    const tracker = section.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'tracker' }) });
    assert.match(await tracker.innerText(), /Connected\./);
    await Promise.all([page.waitForURL(/\/account\/apps\?disconnected=1$/), tracker.getByRole('button', { name: 'Disconnect' }).click()]);

    assert.match(await page.getByRole('status').innerText(), /Disconnected\./);
    assert.match(await tracker.innerText(), /Not connected\./);
    assert.equal(await tracker.getByRole('button', { name: 'Disconnect' }).count(), 0);
    assert.equal((await t.runtime.outbound.vault.status(upstreamId, carol.id)).state, 'none');
    assert.deepEqual(problems, [], 'no CSP violations');
    await page.context().close();
  });
});
