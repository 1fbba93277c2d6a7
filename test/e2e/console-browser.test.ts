import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { pinnedForm } from '../../src/upstream/tool-definitions.js';
import { startSdkAuthUpstream } from '../fixtures/oauth-upstreams/sdk-auth-upstream.js';
import type { OAuthUpstream } from '../fixtures/oauth-upstreams/protected-mcp.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { connectWithOAuth } from '../helpers/mcp-session.js';

/** Screenshots of every console page, kept as test artifacts (gitignored). */
const ARTIFACTS = new URL('../../test-artifacts/console/', import.meta.url);

describe('the admin console at /admin, in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let plain: HttpUpstream;
  let guarded: OAuthUpstream;
  const problems: string[] = [];
  const shoot = (name: string) => page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
  const rowOf = (list: string, text: string) => page.locator(`table[data-list="${list}"] tbody tr`).filter({ hasText: text });

  async function signIn(target: Page, username: string, password: string, next: string): Promise<void> {
    await target.goto(`${t.url}${next}`);
    assert.equal(new URL(target.url()).pathname, '/login', 'not signed in: the sign-in page');
    assert.equal(new URL(target.url()).searchParams.get('next'), next === '/' ? null : next);
    await target.getByLabel('Username').fill(username);
    await target.getByLabel('Password').fill(password);
    await target.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Fills the add form of the upstreams page (`fill`: more labelled fields) and sends it; answers the form. */
  async function addUpstream(name: string, url: string, auth: string, fill: Record<string, string> = {}) {
    await page.goto(`${t.url}/admin/upstreams`);
    const form = page.locator('form.upstream-form');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('URL').fill(url);
    await form.getByLabel('Authentication').selectOption(auth);
    for (const [label, value] of Object.entries(fill)) await form.getByLabel(label).fill(value);
    await form.getByRole('button', { name: 'Add upstream' }).click();
    return form;
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [plain, guarded] = await Promise.all([startHttpUpstream({ name: 'plain' }), startSdkAuthUpstream()]);
    t = await startTestApp({ listen: true, flags: { allowPrivateNetworks: true, noDemo: true } });
    for (const username of ['bob', 'carol', 'dave']) await t.runtime.users.create({ username, password: `${username}-password` });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await plain?.close();
    await guarded?.close();
  });

  it('a signed-in user who is not an admin gets the 403 page', async () => {
    const other = await (await browser.newContext()).newPage();
    await signIn(other, 'bob', 'bob-password', '/admin');
    await other.waitForURL(`${t.url}/admin`);
    assert.equal(await other.getByRole('heading', { name: 'Admins only' }).count(), 1);
    const response = await other.request.get(`${t.url}/admin/users`);
    assert.equal(response.status(), 403);
    await other.screenshot({ path: new URL('refused.png', ARTIFACTS).pathname });
    await other.context().close();
  });

  it('an admin signs in, follows the link on the home page and sees the overview', async () => {
    await signIn(page, 'admin', TEST_ADMIN_PASSWORD, '/');
    await page.getByRole('link', { name: 'Admin console' }).click();
    await page.waitForURL(`${t.url}/admin`);
    const csp = (await page.request.get(`${t.url}/admin`)).headers()['content-security-policy'];
    assert.match(csp ?? '', /default-src 'none'; script-src 'self'/);
    assert.match(csp ?? '', /frame-ancestors 'none'/);
    await page.locator('[data-stat="active_sessions"]').filter({ hasText: /^\d+$/ }).waitFor();
    await shoot('overview');
  });

  it('an admin adds an HTTP upstream and sees it connect, with its tools', async () => {
    await page.getByRole('link', { name: 'Upstreams' }).click();
    await page.getByRole('heading', { name: 'Upstreams', level: 1 }).waitFor();
    await addUpstream('plain', plain.url, 'none');
    await rowOf('upstreams', 'plain').locator('.state-connected').waitFor();
    await rowOf('upstreams', 'plain').getByRole('cell').nth(4).filter({ hasText: /^\d+$/ }).waitFor();
    await shoot('upstreams');
    await rowOf('upstreams', 'plain').getByRole('link', { name: 'plain' }).click();
    await page.locator('table[data-list="tools"] tbody tr').filter({ hasText: 'approved' }).first().waitFor();
    assert.equal(await page.getByLabel('URL').inputValue(), plain.url, 'the edit form shows its settings');
    await page.getByLabel('Calls per user').fill('100');
    await page.getByLabel('Per seconds').fill('60');
    await page.getByLabel('Per-tool quotas').fill('echo: 5/60');
    await page.getByLabel('Tools to skip').fill('fail');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('form', { name: 'Settings' }).getByRole('status').filter({ hasText: 'Done.' }).waitFor();
    const saved = (await t.runtime.upstreamService.list()).find((item) => item.name === 'plain')!;
    assert.deepEqual([saved.rate_limit, saved.tool_rate_limits, saved.tools_to_skip], [{ calls: 100, per_seconds: 60 }, { echo: { calls: 5, per_seconds: 60 } }, ['fail']]);
    await page.locator('table[data-list="tools"] tbody tr').filter({ has: page.locator('strong', { hasText: /^fail$/ }) }).getByRole('cell', { name: 'skipped' }).waitFor();
  });

  it("an admin sees a changed tool's definition diff and approves it", async () => {
    const upstream = (await t.runtime.upstreamService.list()).find((item) => item.name === 'plain')!;
    // The pin as if `echo` had been approved when its description was different: it now shows as changed.
    const [pin] = (await t.runtime.store.toolPins.list([upstream.id])).filter((item) => item.tool === 'echo');
    const before = { ...(JSON.parse(pin!.definition) as Tool), description: 'Repeats what it is told' };
    const { definition, hash } = pinnedForm(before);
    await t.runtime.store.toolPins.replace({ ...pin!, definition, definitionHash: hash });
    await page.reload();
    const echo = page.locator('table[data-list="tools"] tbody tr').filter({ has: page.locator('strong', { hasText: /^echo$/ }) });
    await echo.locator('pre.diff .removed').filter({ hasText: 'Repeats what it is told' }).waitFor();
    await echo.locator('.state', { hasText: 'changed' }).waitFor();
    await shoot('upstream');
    await echo.getByRole('button', { name: 'Approve echo' }).click();
    await echo.locator('.state', { hasText: 'approved' }).waitFor();
    assert.equal(await echo.locator('pre.diff').count(), 0, 'no diff once approved');
    assert.equal(t.runtime.toolPins.status(upstream.id, { name: 'echo', ...(JSON.parse(pin!.definition) as object) } as Tool), 'approved');
  });

  it('an admin adds an OAuth upstream, authorizes it in a new tab, and the console shows it connected', async () => {
    const form = await addUpstream('guarded', guarded.mcpUrl, 'oauth');
    const link = form.getByRole('link', { name: 'open the authorization page in a new tab' });
    await link.waitFor();
    await rowOf('upstreams', 'guarded').locator('.state-pending_oauth').waitFor();
    await shoot('upstream-pending-oauth');
    const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await tab.locator('input[name="username"]').fill('upstream-admin');
    await tab.getByRole('button', { name: 'Allow' }).click();
    await tab.waitForURL(/\/api\/oauth\/callback/);
    await tab.close();
    await page.getByRole('status').filter({ hasText: 'Upstream guarded is connected.' }).waitFor();
    await rowOf('upstreams', 'guarded').locator('.state-connected').waitFor();
  });

  it('an admin adds an upstream with static headers, which it sends, and never shows their values again', async () => {
    await addUpstream('keyed', plain.url, 'headers', { Headers: 'X-Upstream-Key: key-for-the-upstream' });
    await rowOf('upstreams', 'keyed').locator('.state-connected').waitFor();
    assert.ok(plain.requests.some((headers) => headers['x-upstream-key'] === 'key-for-the-upstream'));
    await rowOf('upstreams', 'keyed').getByRole('link', { name: 'keyed' }).click();
    await page.waitForFunction(() => document.querySelector<HTMLInputElement>('form[data-fill] input[name="name"]')?.value === 'keyed');
    assert.equal(await page.getByRole('form', { name: 'Settings' }).getByLabel('Headers').inputValue(), '', 'secrets stay write-only');
    assert.equal((await page.content()).includes('key-for-the-upstream'), false);
  });

  it('an admin disables a user, whose token then stops working at /mcp, and enables them again', async () => {
    const { client } = await connectWithOAuth(t.url!, { username: 'carol', password: 'carol-password' });
    await client.listTools();
    await page.getByRole('link', { name: 'Users' }).click();
    page.once('dialog', (dialog) => void dialog.accept());
    await rowOf('users', 'carol').getByRole('button', { name: 'Disable carol' }).click();
    await rowOf('users', 'carol').getByRole('cell', { name: 'disabled' }).waitFor();
    await assert.rejects(client.listTools(), 'a disabled user\u2019s token is refused at /mcp');
    await client.close().catch(() => undefined);
    await rowOf('users', 'carol').getByRole('button', { name: 'Enable carol' }).click();
    await rowOf('users', 'carol').getByRole('cell', { name: 'active' }).waitFor();
    assert.equal((await t.runtime.users.find('carol'))!.disabledAt, null);

    const reset = page.getByRole('form', { name: 'Reset a password' });
    await reset.getByLabel('User').selectOption({ label: 'carol' });
    await reset.getByLabel('New password').fill('carols-new-password');
    await reset.getByRole('button', { name: 'Set password' }).click();
    await reset.getByRole('status').filter({ hasText: 'Done.' }).waitFor();
    assert.equal((await t.runtime.login.attempt('carol', 'carols-new-password', '192.0.2.30')).ok, true);

    const create = page.getByRole('form', { name: 'Create a user' });
    await create.getByLabel('Username').fill('erin');
    await create.getByLabel('Password').fill('erins-password');
    await create.getByRole('button', { name: 'Create user' }).click();
    await rowOf('users', 'erin').waitFor();

    const accounts = page.getByRole('form', { name: 'Create a service account' });
    await accounts.getByLabel('Name').fill('nightly');
    await accounts.getByRole('button', { name: 'Create service account' }).click();
    await accounts.locator('.secret output').filter({ hasText: /\S{20,}/ }).waitFor();
    await rowOf('service-accounts', 'nightly').waitFor();
    await shoot('users');
  });

  it('an admin creates an API key, sees it once, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    const form = page.getByRole('form', { name: 'Create an API key' });
    await form.getByLabel('Name', { exact: true }).fill('ci');
    await form.getByRole('button', { name: 'Create API key' }).click();
    await form.locator('.secret output').filter({ hasText: /gth_ak_/ }).waitFor();
    const key = await form.locator('.secret output').innerText();
    assert.match(key, /^gth_ak_/);
    await rowOf('api-keys', 'ci').waitFor();
    assert.equal(await rowOf('api-keys', 'ci').filter({ hasText: key }).count(), 0, 'the list shows only the hint');
    await shoot('api-keys');
    const auth = { headers: { authorization: `Bearer ${key}` } };
    assert.equal((await page.request.get(`${t.url}/api/users`, auth)).status(), 200);
    page.once('dialog', (dialog) => void dialog.accept());
    await rowOf('api-keys', 'ci').getByRole('button', { name: 'Revoke' }).click();
    await rowOf('api-keys', 'ci').waitFor({ state: 'detached' });
    assert.equal((await page.request.get(`${t.url}/api/users`, auth)).status(), 401);
  });

  it("an admin revokes a user's grant and the client's token stops working", async () => {
    const { client } = await connectWithOAuth(t.url!, { username: 'dave', password: 'dave-password' }, { clientName: 'Dave\u2019s editor' });
    await client.listTools();
    await page.getByRole('link', { name: 'OAuth clients and grants' }).click();
    await rowOf('clients', 'Dave\u2019s editor').filter({ hasText: 'DCR' }).waitFor();
    await page.getByRole('form', { name: 'Filter grants' }).getByLabel('User').fill('dave');
    await page.getByRole('form', { name: 'Filter grants' }).getByRole('button', { name: 'Show' }).click();
    await shoot('oauth');
    page.once('dialog', (dialog) => void dialog.accept());
    await rowOf('grants', 'dave').getByRole('button', { name: 'Revoke' }).click();
    await page.locator('table[data-list="grants"] tbody').filter({ hasText: 'Nothing here yet.' }).waitFor();
    await assert.rejects(client.listTools(), 'a revoked grant\u2019s token is refused at /mcp');
    await client.close().catch(() => undefined);
  });

  it('an admin filters the audit by tool and outcome', async () => {
    const call = { userId: null, clientId: null, upstreamId: 'ups_plain', upstreamName: 'plain', error: null, durationMs: 3, arguments: null };
    const at = Date.now();
    await t.runtime.store.toolCalls.append({ ...call, id: 'tc_a', at: at - 3000, tool: 'echo', outcome: 'ok' });
    await t.runtime.store.toolCalls.append({ ...call, id: 'tc_b', at: at - 2000, tool: 'add', outcome: 'ok' });
    await t.runtime.store.toolCalls.append({ ...call, id: 'tc_c', at: at - 1000, tool: 'echo', outcome: 'timeout', error: 'took too long' });
    await page.getByRole('link', { name: 'Audit' }).click();
    const rows = page.locator('table[data-list="audit"] tbody tr');
    await rows.nth(2).waitFor();
    const filter = page.getByRole('form', { name: 'Filter the audit' });
    await filter.getByLabel('Tool').fill('echo');
    await filter.getByLabel('Outcome').selectOption('timeout');
    await filter.getByRole('button', { name: 'Filter' }).click();
    // The timed-out row is in the unfiltered list too: wait for the filtered list to replace it, then look.
    await page.waitForFunction(() => document.querySelectorAll('table[data-list="audit"] tbody tr').length === 1);
    assert.equal(await rows.count(), 1);
    await rows.filter({ hasText: 'timeout: took too long' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Export as JSON Lines' }).getAttribute('href'), '/api/audit/export?tool=echo&outcome=timeout');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export as JSON Lines' }).click()]);
    assert.equal(download.suggestedFilename(), 'gatehouse-audit.jsonl');
    await shoot('audit');
  });

  it('works at 390 px wide without sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const section of ['users', 'upstreams']) {
      await page.goto(`${t.url}/admin/${section}`);
      await page.locator('table[data-list] tbody tr td').first().waitFor();
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), `${section} fits 390 px`);
      await shoot(`${section}-390px`);
    }
    assert.deepEqual(problems, [], 'no errors or CSP violations in the console');
  });
});
