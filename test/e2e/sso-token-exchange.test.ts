import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { open } from '../../src/crypto/aead.js';
import type { CompanyIdp } from '../fixtures/sso/company-idp.js';
import { startIdpTrustingUpstream, type IdpTrustingUpstream } from '../fixtures/sso/idp-trusting-upstream.js';
import { basicAuth, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { PROVIDER_ID, startAppWithCompanyIdp } from '../helpers/company-sign-in.js';
import { connectWithOAuth } from '../helpers/mcp-session.js';
import { waitFor } from '../helpers/wait-for.js';

const ADMIN = { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD), 'content-type': 'application/json' };

describe('upstream auth_type token_exchange: the user\u2019s company IdP token exchanged (RFC 8693) for the upstream\u2019s', () => {
  let t: TestApp;
  let idp: CompanyIdp;
  let upstream: IdpTrustingUpstream;
  let close: () => Promise<void>;
  let alice: Client;

  before(async () => {
    ({ t, idp, close } = await startAppWithCompanyIdp({
      accounts: { 'sub-alice': { preferred_username: 'alice', groups: ['staff'] }, 'sub-bob': { preferred_username: 'bob', groups: ['staff'] } },
    }));
    upstream = await startIdpTrustingUpstream(idp.issuer);
  });
  after(async () => {
    await alice?.close();
    await upstream.close();
    await close();
  });

  const whoami = async (client: Client) => (await client.callTool({ name: 'tickets_whoami', arguments: {} })) as CallToolResult;

  it('is configured through the Bifrost-compatible API, and its settings are returned', async () => {
    const created = await fetch(`${t.url}/api/mcp/client`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'tickets', connection_type: 'http', connection_string: upstream.mcpUrl, auth_type: 'token_exchange', token_exchange: { provider: PROVIDER_ID } }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const clients = (await (await fetch(`${t.url}/api/mcp/clients`, { headers: ADMIN })).json()).clients as { name: string; auth_type: string; token_exchange: unknown }[];
    const tickets = clients.find((client) => client.name === 'tickets')!;
    assert.deepEqual([tickets.auth_type, tickets.token_exchange], ['token_exchange', { provider: PROVIDER_ID }]);
  });

  it('refuses token_exchange settings without a provider, and on a stdio upstream', async () => {
    for (const body of [
      { name: 'broken', connection_type: 'http', connection_string: upstream.mcpUrl, auth_type: 'token_exchange' },
      { name: 'broken', connection_type: 'stdio', stdio_config: { command: 'node' }, auth_type: 'token_exchange', token_exchange: { provider: PROVIDER_ID } },
    ]) {
      const answer = await fetch(`${t.url}/api/mcp/client`, { method: 'POST', headers: ADMIN, body: JSON.stringify(body) });
      assert.equal(answer.status, 400, await answer.clone().text());
    }
  });

  it('a user signed in through the company IdP calls a tool on the upstream as themselves, with a token exchanged for its audience', async () => {
    ({ client: alice } = await connectWithOAuth(t.url!, { provider: PROVIDER_ID, username: 'sub-alice' }));
    await waitFor('the upstream\u2019s tools to be listed', async () => (await alice.listTools()).tools.some((tool) => tool.name === 'tickets_whoami') || undefined, 200);
    const result = await whoami(alice);
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.deepEqual(result.structuredContent, { sub: 'sub-alice' }, 'the upstream saw the person the IdP knows, not Gatehouse');
    assert.ok(idp.exchanges.length > 0 && idp.exchanges.every((audience) => audience === upstream.mcpUrl), 'exchanged at the IdP, for the upstream as audience');
    const aliceId = (await t.runtime.store.users.findByUsername('alice'))!.id;
    const stored = (await t.runtime.store.ssoIdentityTokens.find(aliceId))!;
    assert.throws(() => JSON.parse(stored.sealed), 'the IdP tokens are stored sealed');
    const kept = JSON.parse(open(t.runtime.keys.encryptionKey, stored.sealed, `sso-identity-tokens:${aliceId}`)) as Record<string, string>;
    assert.ok(kept.accessToken && kept.refreshToken, 'the access token and the refresh token of the sign-in');
  });

  it('caches the exchanged token per user until it expires: more calls, no more exchanges', async () => {
    const exchanges = idp.exchanges.length;
    await whoami(alice);
    await whoami(alice);
    assert.equal(idp.exchanges.length, exchanges);
  });

  it('refreshes the user\u2019s IdP token with its refresh token when it has expired, then exchanges again', async () => {
    const aliceId = (await t.runtime.store.users.findByUsername('alice'))!.id;
    const stored = (await t.runtime.store.ssoIdentityTokens.find(aliceId))!;
    await t.runtime.store.ssoIdentityTokens.put({ ...stored, expiresAt: Date.now() - 1000 });
    const refreshes = idp.refreshes;
    t.runtime.sso.tokenExchange.forget(aliceId);
    const result = await whoami(alice);
    assert.deepEqual(result.structuredContent, { sub: 'sub-alice' }, JSON.stringify(result));
    assert.equal(idp.refreshes, refreshes + 1);
  });

  it('a refused exchange asks the user to sign in again through the company IdP, and is audited', async () => {
    idp.refuseExchanges = true;
    try {
      t.runtime.sso.tokenExchange.forget((await t.runtime.store.users.findByUsername('alice'))!.id);
      const result = await whoami(alice);
      assert.equal(result.isError, true);
      const text = (result.content[0] as { text: string }).text;
      assert.match(text, /needs you to sign in again with Acme/);
      assert.ok(text.includes(`${t.url}/login/oidc/${PROVIDER_ID}?next=`), text);
      const events = (await (await fetch(`${t.url}/api/audit/events?kind=upstream.needs_auth&user=alice`, { headers: ADMIN })).json()).events as { detail: Record<string, unknown> }[];
      assert.equal(events[0]?.detail.token_exchange, PROVIDER_ID);
    } finally {
      idp.refuseExchanges = false;
    }
  });

  it('a refresh the IdP refuses forgets the kept tokens and asks the user to sign in again', async () => {
    const aliceId = (await t.runtime.store.users.findByUsername('alice'))!.id;
    await t.runtime.sso.identityTokens.keep(aliceId, PROVIDER_ID, { accessToken: 'expired-at-the-idp', refreshToken: 'unknown-to-the-idp', expiresIn: 0 });
    const result = await whoami(alice);
    assert.equal(result.isError, true);
    assert.match((result.content[0] as { text: string }).text, /sign in again with Acme/);
    assert.equal(await t.runtime.store.ssoIdentityTokens.find(aliceId), undefined, 'the refused tokens are forgotten');
  });

  it('a new sign-in through the IdP makes the upstream work again', async () => {
    await alice.close();
    ({ client: alice } = await connectWithOAuth(t.url!, { provider: PROVIDER_ID, username: 'sub-alice' }));
    assert.deepEqual((await whoami(alice)).structuredContent, { sub: 'sub-alice' });
  });

  it('a user who never signed in through the IdP is asked to sign in with it', async () => {
    const created = await fetch(`${t.url}/api/users`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ username: 'carol', password: 'carols-password' }) });
    assert.equal(created.status, 201);
    const { client: carol } = await connectWithOAuth(t.url!, { username: 'carol', password: 'carols-password' });
    try {
      const result = await whoami(carol);
      assert.equal(result.isError, true);
      assert.match((result.content[0] as { text: string }).text, /sign in again with Acme/);
    } finally {
      await carol.close();
    }
  });
});
