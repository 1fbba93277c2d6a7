import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { testClock } from '../helpers/clock.js';
import { launchChromium } from '../helpers/browser.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
const APPROVE_LINK = /(http:\/\/127\.0\.0\.1:\d+\/approve\/apr_[A-Za-z0-9_-]+)/;

describe('human approval of risky tool calls, through a real browser page', () => {
  let t: TestApp;
  let upstream: HttpUpstream;
  let browser: Browser;
  const keys: Record<string, string> = {};
  const clock = testClock();

  before(async () => {
    t = await startTestApp({ listen: true, flags: { allowPrivateNetworks: true }, clock });
    upstream = await startHttpUpstream({ name: 'tickets' });
    browser = await launchChromium();
    for (const username of ['carol', 'dave']) {
      const user = await t.runtime.users.create({ username, password: `${username}-password` });
      keys[username] = (await t.runtime.apiKeys.create({ user, name: 'mcp' })).token;
    }
    // `echo` says readOnlyHint: true; `fail` says nothing, so it may be destructive.
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/mcp/client',
      headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) },
      payload: { name: 'tickets', connection_type: 'http', connection_string: upstream.url, require_approval: 'destructive' },
    });
    assert.equal(created.statusCode, 201, created.body);
  });
  after(async () => {
    await browser?.close();
    await upstream?.close();
    await t?.close();
  });

  async function connect(username: string, capabilities: { elicitation?: { url: object } } = {}): Promise<Client> {
    const client = new Client({ name: 'approval-test', version: '1.0.0' }, { capabilities });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${keys[username]}` } } }));
    await waitFor('the upstream tools', async () => ((await client.listTools()).tools.some((tool) => tool.name === 'tickets_fail') ? true : undefined));
    return client;
  }

  /** Opens the link in a fresh browser, signs in as `username` and lands on the approval page. */
  async function openSignedIn(link: string, username: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(link);
    assert.match(page.url(), /\/login\?next=%2Fapprove%2F/);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username}-password`);
    await Promise.all([page.waitForURL(/\/approve\/apr_/), page.getByRole('button', { name: 'Sign in' }).click()]);
    return page;
  }

  async function decide(page: Page, button: 'Approve' | 'Deny'): Promise<string> {
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: button }).click()]);
    await page.waitForSelector('h1');
    const heading = await page.locator('h1').innerText();
    await page.context().close();
    return heading;
  }

  const linkIn = (result: CallToolResult) => {
    const link = APPROVE_LINK.exec(textOf(result))?.[1];
    assert.ok(link, `the result holds an approval link: ${textOf(result)}`);
    return link;
  };

  const auditKinds = async () => (await t.runtime.store.audit.list({ limit: 200 })).map((event) => event.kind);

  it('a read-only tool is not held', async () => {
    const client = await connect('carol');
    try {
      assert.equal(textOf((await client.callTool({ name: 'tickets_echo', arguments: { text: 'hi' } })) as CallToolResult), 'hi');
    } finally {
      await client.close();
    }
  });

  it('link fallback: the call is held, its person approves on the page, the same retry is forwarded once', async () => {
    const client = await connect('carol');
    try {
      const args = { message: 'drop table', password: 'hunter2' };
      const held = (await client.callTool({ name: 'tickets_fail', arguments: args })) as CallToolResult;
      assert.equal(held.isError, true);
      assert.match(textOf(held), /needs your approval/);
      const link = linkIn(held);

      // Bound to Carol: Dave, signed in, is refused.
      const daves = await openSignedIn(link, 'dave');
      assert.match(await daves.locator('h1').innerText(), /another user/);
      await daves.context().close();

      const page = await openSignedIn(link, 'carol');
      const problems: string[] = [];
      page.on('console', (message) => void (message.type() === 'error' && problems.push(message.text())));
      assert.match(await page.locator('dl.call').innerText(), /tickets_fail[\s\S]*tickets[\s\S]*"message": "drop table"/);
      assert.match(await page.locator('pre.arguments').innerText(), /"password": "\[redacted\]"/, 'arguments are redacted as the audit redacts them');
      assert.doesNotMatch(await page.content(), /hunter2/);
      assert.equal(await decide(page, 'Approve'), 'Call approved');
      assert.deepEqual(problems, [], 'no CSP violations');

      const forwarded = (await client.callTool({ name: 'tickets_fail', arguments: args })) as CallToolResult;
      assert.equal(textOf(forwarded), 'drop table', 'the approved call reached the upstream');
      const again = (await client.callTool({ name: 'tickets_fail', arguments: args })) as CallToolResult;
      assert.match(textOf(again), /needs your approval/, 'an approval is spent by the one call it approved');
      const kinds = await auditKinds();
      assert.ok(kinds.includes('call.approval_requested') && kinds.includes('call.approved'), kinds.join());
    } finally {
      await client.close();
    }
  });

  it('changed arguments need a new approval', async () => {
    const client = await connect('carol');
    try {
      const first = linkIn((await client.callTool({ name: 'tickets_fail', arguments: { message: 'one' } })) as CallToolResult);
      assert.equal(await decide(await openSignedIn(first, 'carol'), 'Approve'), 'Call approved');
      const changed = (await client.callTool({ name: 'tickets_fail', arguments: { message: 'two' } })) as CallToolResult;
      const second = linkIn(changed);
      assert.notEqual(second, first, 'other arguments are another approval');
      assert.equal(textOf((await client.callTool({ name: 'tickets_fail', arguments: { message: 'one' } })) as CallToolResult), 'one');
    } finally {
      await client.close();
    }
  });

  it('URL elicitation: a client that declares it is asked with -32042; denial answers a clear tool error', async () => {
    const client = await connect('carol', { elicitation: { url: {} } });
    try {
      const asked = await client.callTool({ name: 'tickets_fail', arguments: { message: 'deny me' } }).then(
        () => assert.fail('expected URL elicitation'),
        (error: unknown) => error,
      );
      assert.ok(asked instanceof McpError);
      assert.equal(asked.code, ErrorCode.UrlElicitationRequired);
      const [elicitation] = (asked.data as { elicitations: Array<{ mode: string; url: string; elicitationId: string; message: string }> }).elicitations;
      assert.equal(elicitation?.mode, 'url');
      assert.match(elicitation!.url, APPROVE_LINK);
      assert.ok(elicitation!.url.endsWith(elicitation!.elicitationId));
      assert.equal(await decide(await openSignedIn(elicitation!.url, 'carol'), 'Deny'), 'Call denied');

      const denied = (await client.callTool({ name: 'tickets_fail', arguments: { message: 'deny me' } })) as CallToolResult;
      assert.equal(denied.isError, true);
      assert.match(textOf(denied), /You denied the call of tool "tickets_fail".*not forwarded/);
      assert.ok((await auditKinds()).includes('call.denied'));
      // The denial is answered once; calling again asks anew.
      await assert.rejects(client.callTool({ name: 'tickets_fail', arguments: { message: 'deny me' } }), (error: unknown) => error instanceof McpError && error.code === ErrorCode.UrlElicitationRequired);
    } finally {
      await client.close();
    }
  });

  it('expiry: an approval request past its time cannot be approved, and the retry answers that it expired', async () => {
    const client = await connect('carol');
    try {
      const link = linkIn((await client.callTool({ name: 'tickets_fail', arguments: { message: 'late' } })) as CallToolResult);
      clock.advance((t.config.approvals.ttlSeconds + 60) * 1000);
      const page = await openSignedIn(link, 'carol');
      assert.equal(await page.locator('h1').innerText(), 'Request expired');
      await page.context().close();
      const expired = (await client.callTool({ name: 'tickets_fail', arguments: { message: 'late' } })) as CallToolResult;
      assert.equal(expired.isError, true);
      assert.match(textOf(expired), /approval of the call of tool "tickets_fail".*expired/);
      assert.ok((await auditKinds()).includes('call.approval_expired'));
    } finally {
      await client.close();
    }
  });

  it('an approval that expires after it was given is not honoured', async () => {
    const client = await connect('carol');
    try {
      const link = linkIn((await client.callTool({ name: 'tickets_fail', arguments: { message: 'slow retry' } })) as CallToolResult);
      assert.equal(await decide(await openSignedIn(link, 'carol'), 'Approve'), 'Call approved');
      clock.advance((t.config.approvals.ttlSeconds + 1) * 1000);
      const expired = (await client.callTool({ name: 'tickets_fail', arguments: { message: 'slow retry' } })) as CallToolResult;
      assert.match(textOf(expired), /expired/);
    } finally {
      await client.close();
    }
  });
});
