import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OAuthUpstream } from '../fixtures/oauth-upstreams/protected-mcp.js';
import { startSdkAuthUpstream } from '../fixtures/oauth-upstreams/sdk-auth-upstream.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import type { PendingOAuth } from '../../src/upstream/upstream-service.js';
import { assertEnvelope, sendJson } from './api-client.js';

/**
 * `complete-oauth` and the setup's status as a script written against Bifrost sees them, with a real upstream
 * authorization server (the MCP SDK's auth router) behind a shared (`auth_type: oauth`) upstream.
 */
describe('POST /api/mcp/client/{id}/complete-oauth and GET /api/oauth/config/{id}/status', () => {
  let t: TestApp;
  let upstream: OAuthUpstream;

  before(async () => {
    upstream = await startSdkAuthUpstream();
    t = await startTestApp({ flags: { allowPrivateNetworks: true, demo: false } });
  });
  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  const addSharedUpstream = async (name: string): Promise<PendingOAuth> => {
    const created = await sendJson(t, 'POST', '/api/mcp/client', { name, connection_type: 'http', connection_string: upstream.mcpUrl, auth_type: 'oauth' });
    assert.equal(created.statusCode, 201, created.body);
    return created.json() as PendingOAuth;
  };
  /** The browser's landing on Gatehouse's callback, after the upstream's consent, with the query it came back with. */
  const landOnCallback = (callback: URL) => t.app.inject({ method: 'GET', url: callback.pathname + callback.search });
  const setupStatus = async (pending: PendingOAuth) => (await sendJson(t, 'GET', new URL(pending.status_url).pathname)).json() as { status: string; error?: string };

  it("answers Bifrost's SuccessResponse once connected; the upstream itself stays at GET /api/mcp/client/{id}", async () => {
    const pending = await addSharedUpstream('shared');
    const notYet = assertEnvelope(await sendJson(t, 'POST', `/api/mcp/client/${pending.id}/complete-oauth`), { status: 400, type: 'invalid_request_error', code: 'oauth_not_authorized', param: 'id' });
    assert.deepEqual(notYet.extra_fields, { oauth_status: 'pending' });

    const callback = new URL(await upstream.authorizeHeadlessly(pending.authorize_url, { login: 'service-account' }));
    assert.equal((await landOnCallback(callback)).statusCode, 200);

    const completed = await sendJson(t, 'POST', `/api/mcp/client/${pending.oauth_config_id}/complete-oauth`);
    assert.equal(completed.statusCode, 200, completed.body);
    assert.deepEqual(completed.json(), { status: 'success', message: 'MCP client connected successfully with OAuth' });
    const view = (await sendJson(t, 'GET', `/api/mcp/client/${pending.id}`)).json();
    assert.equal(view.status.state, 'connected');
  });

  it('after the upstream refuses the code at the callback, the status is failed with the reason and complete-oauth says why', async () => {
    const pending = await addSharedUpstream('refused');
    const callback = new URL(await upstream.authorizeHeadlessly(pending.authorize_url, { login: 'service-account' }));
    callback.searchParams.set('code', 'a-code-the-upstream-never-issued');
    assert.equal((await landOnCallback(callback)).statusCode, 400, 'the callback page shows the refusal');

    const status = await setupStatus(pending);
    assert.equal(status.status, 'failed');
    assert.match(status.error ?? '', /invalid_grant/);

    const refused = assertEnvelope(await sendJson(t, 'POST', `/api/mcp/client/${pending.id}/complete-oauth`), { status: 400, type: 'invalid_request_error', code: 'oauth_failed', param: 'id' });
    const message = (refused.error as { message: string }).message;
    assert.match(message, /failed: .*invalid_grant/);
    assert.match(message, /reconnect/);
    assert.doesNotMatch(message, /authorize_url/);
    assert.deepEqual(refused.extra_fields, { oauth_status: 'failed', reason: status.error });

    // Authorizing again (reconnect starts a new authorization) clears the failure.
    const again = (await sendJson(t, 'POST', `/api/mcp/client/${pending.id}/reconnect`)).json() as PendingOAuth;
    assert.equal(again.status, 'pending_oauth');
    assert.equal((await setupStatus(pending)).status, 'pending');
    assert.equal((await landOnCallback(new URL(await upstream.authorizeHeadlessly(again.authorize_url, { login: 'service-account' })))).statusCode, 200);
    assert.equal((await sendJson(t, 'POST', `/api/mcp/client/${pending.id}/complete-oauth`)).json().status, 'success');
  });
});
