import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CallApprovalRecord } from '../../src/store/index.js';
import { browserSessions } from '../../src/identity/sessions.js';
import { PAGE_SECURITY_HEADERS } from '../../src/web/page.js';
import { csrfTokenFor } from '../../src/web/session-csrf.js';
import { signInCookies, startTestApp, type TestApp } from '../helpers/app.js';

type Cookies = Record<string, string>;

describe('the call approval page (/approve/{id})', () => {
  let t: TestApp;
  let carol: Cookies;
  let dave: Cookies;
  let approval: CallApprovalRecord;
  let counter = 0;

  before(async () => {
    t = await startTestApp();
    const user = await t.runtime.users.create({ username: 'carol', password: 'carol-password' });
    await t.runtime.users.create({ username: 'dave', password: 'dave-password' });
    carol = await signInCookies(t, 'carol', 'carol-password');
    dave = await signInCookies(t, 'dave', 'dave-password');
    approval = { id: '', userId: user.id, upstreamId: 'ups_1', upstreamName: 'tickets', tool: 'drop', exposedName: 'tickets_drop', argumentsHash: 'p1.h', arguments: '{"table":"<users>","password":"[redacted]"}', status: 'pending', createdAt: Date.now(), expiresAt: Date.now() + 600_000, decidedAt: null };
  });
  beforeEach(async () => {
    approval = { ...approval, id: `apr_test${++counter}` };
    await t.runtime.store.callApprovals.create(approval);
  });
  after(() => t.close());

  const page = (cookies: Cookies) => t.app.inject({ method: 'GET', url: `/approve/${approval.id}`, cookies });
  const post = (cookies: Cookies, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `/approve/${approval.id}`, cookies, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });
  const csrfOf = (html: string) => /name="csrf_token" value="([^"]+)"/.exec(html)![1]!;
  const statusNow = async () => (await t.runtime.store.callApprovals.find(approval.id))!.status;

  it('sends a browser without a session to sign in and come back', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/approve/${approval.id}` });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `/login?next=${encodeURIComponent(`/approve/${approval.id}`)}`);
  });

  it('shows its person the tool, the upstream and the escaped, redacted arguments, with every page security header', async () => {
    const res = await page(carol);
    assert.equal(res.statusCode, 200);
    for (const [name, value] of Object.entries(PAGE_SECURITY_HEADERS)) assert.equal(res.headers[name], value);
    assert.match(res.body, /tickets_drop/);
    assert.match(res.body, /&lt;users&gt;/);
    assert.doesNotMatch(res.body, /<script/);
  });

  it('refuses another user, on the page and in the form', async () => {
    assert.equal((await page(dave)).statusCode, 403);
    assert.equal((await post(dave, { csrf_token: csrfOf((await page(carol)).body), decision: 'approve' })).statusCode, 403, 'carol\'s token is not dave\'s');
    // Dave's own valid token for this form: the approval is still not his to decide.
    const sessions = browserSessions(t.runtime);
    const daves = await sessions.resolve(Object.values(dave)[0]);
    const refused = await post(dave, { csrf_token: csrfTokenFor(daves!, t.runtime.keys.cookieKey, 'call-approval'), decision: 'approve' });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /another Gatehouse user/);
    assert.equal(await statusNow(), 'pending');
  });

  it('refuses a form without the session\'s CSRF token, and one posted from another site', async () => {
    assert.equal((await post(carol, { decision: 'approve' })).statusCode, 403);
    assert.equal((await post(carol, { csrf_token: 'forged', decision: 'approve' })).statusCode, 403);
    const csrf = csrfOf((await page(carol)).body);
    assert.equal((await post(carol, { csrf_token: csrf, decision: 'approve' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).statusCode, 403);
    assert.equal(await statusNow(), 'pending');
  });

  it('records the decision once: approve, then a second decision is refused', async () => {
    const csrf = csrfOf((await page(carol)).body);
    const approved = await post(carol, { csrf_token: csrf, decision: 'approve' });
    assert.equal(approved.statusCode, 200);
    assert.match(approved.body, /Call approved/);
    assert.equal(await statusNow(), 'approved');
    assert.equal((await post(carol, { csrf_token: csrf, decision: 'deny' })).statusCode, 409);
    assert.equal(await statusNow(), 'approved');
  });

  it('answers 404 for an unknown id', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/approve/apr_nothing', cookies: carol })).statusCode, 404);
  });
});
