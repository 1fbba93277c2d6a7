import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { guardRequest, type GuardOutcome } from '../../src/gateway/guard.js';
import { accessTokenService } from '../../src/oauth/access-tokens.js';
import { gatewayResource } from '../../src/oauth/resource.js';
import { backends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminUserId, createClient, grantWithTokens } from '../oauth/token-fixtures.js';

const bearer = (token: string) => `Bearer ${token}`;

function assertInvalid(outcome: GuardOutcome): void {
  assert.equal(outcome.kind, 'invalid_token', JSON.stringify(outcome));
}

for (const backend of backends) {
  describe(`the /mcp guard (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    const guard = (authorization: string | undefined, query = '') => guardRequest(t.runtime, { authorization, query });

    it('no credentials, or credentials of another scheme, count as no token', async () => {
      assert.deepEqual(await guard(undefined), { kind: 'no_token' });
      assert.deepEqual(await guard('Basic YWRtaW46eA=='), { kind: 'no_token' });
    });

    it('a token in the query string is refused even next to a valid header', async () => {
      const { tokens } = await grantWithTokens(t);
      assert.deepEqual(await guard(bearer(tokens.access_token), `access_token=${tokens.access_token}`), { kind: 'token_in_query' });
    });

    it('a live access token yields its user, client, grant and scopes', async () => {
      const { client, tokens, grantId } = await grantWithTokens(t, { scope: 'mcp:read' });
      const outcome = await guard(bearer(tokens.access_token));
      assert.equal(outcome.kind, 'caller');
      assert.ok(outcome.kind === 'caller');
      assert.equal(outcome.principal.userId, await adminUserId(t));
      assert.equal(outcome.principal.username, 'admin');
      assert.equal(outcome.principal.clientId, client.clientId);
      assert.equal(outcome.principal.grantId, grantId);
      assert.equal(outcome.principal.via, 'access_token');
      assert.deepEqual([...outcome.principal.scopes], ['mcp:read']);
    });

    it('garbage and empty bearer tokens are invalid', async () => {
      assertInvalid(await guard(bearer('not-a-token')));
      assertInvalid(await guard('Bearer '));
      assertInvalid(await guard(bearer('gth_ak_' + 'x'.repeat(43))));
    });

    it('a token for another audience is refused (wrong audience)', async () => {
      const { client, grantId } = await grantWithTokens(t);
      const { token } = await t.runtime.accessTokens.issue({
        grantId,
        userId: await adminUserId(t),
        clientId: client.clientId,
        scope: 'mcp:read mcp:write',
        resource: 'https://elsewhere.example/mcp',
      });
      assertInvalid(await guard(bearer(token)));
    });

    it('an expired token signed by our own key ring is refused', async () => {
      const { client, grantId } = await grantWithTokens(t);
      const twoHoursAgo = () => Date.now() - 2 * 3600_000;
      const minted = accessTokenService({ config: t.config, signingKeys: t.runtime.signingKeys }, twoHoursAgo);
      const { token } = await minted.issue({
        grantId,
        userId: await adminUserId(t),
        clientId: client.clientId,
        scope: 'mcp:read',
        resource: gatewayResource(t.config.publicUrl),
      });
      assertInvalid(await guard(bearer(token)));
    });

    it('a revoked grant stops its access token at once', async () => {
      const { tokens, grantId } = await grantWithTokens(t);
      assert.equal((await guard(bearer(tokens.access_token))).kind, 'caller');
      assert.equal(await t.runtime.grants.revoke(grantId, 'test', {}), true);
      assertInvalid(await guard(bearer(tokens.access_token)));
    });

    it('a token naming another client than its grant is refused', async () => {
      const { grantId } = await grantWithTokens(t);
      const other = await createClient(t);
      const { token } = await t.runtime.accessTokens.issue({
        grantId,
        userId: await adminUserId(t),
        clientId: other.clientId,
        scope: 'mcp:read',
        resource: gatewayResource(t.config.publicUrl),
      });
      assertInvalid(await guard(bearer(token)));
    });

    it('a disabled user’s access token is refused', async () => {
      const user = await t.runtime.users.create({ username: `guard-${backend}`, password: 'pw-Long-enough-1' });
      const client = await createClient(t);
      const { grantId, token } = await tokenFor(t, user.id, client.clientId);
      assert.equal((await guard(bearer(token))).kind, 'caller', grantId);
      await t.runtime.users.disable(user.username);
      assertInvalid(await guard(bearer(token)));
    });

    it('an API key stands for its user with every scope, and is named in the principal; a revoked one is refused', async () => {
      const admin = await t.runtime.users.find('admin');
      assert.ok(admin);
      const { record, token } = await t.runtime.apiKeys.create({ user: admin, name: 'guard test' });
      const outcome = await guard(bearer(token));
      assert.ok(outcome.kind === 'caller', JSON.stringify(outcome));
      assert.equal(outcome.principal.via, 'api_key');
      assert.equal(outcome.principal.userId, admin.id);
      assert.equal(outcome.principal.clientId, null);
      assert.equal(outcome.principal.apiKeyId, record.id);
      assert.deepEqual([...outcome.principal.scopes].sort(), ['mcp:read', 'mcp:write']);
      await t.runtime.apiKeys.revoke(record.id);
      assertInvalid(await guard(bearer(token)));
    });
  });
}

/** A grant row for any user (the fixtures' codes are the admin's) and an access token of it. */
async function tokenFor(t: TestApp, userId: string, clientId: string): Promise<{ grantId: string; token: string }> {
  const grantId = `grt_guard_${userId}`;
  const at = Date.now();
  await t.runtime.store.grants.create({
    id: grantId,
    userId,
    clientId,
    scope: 'mcp:read mcp:write',
    resource: gatewayResource(t.config.publicUrl),
    createdAt: at,
    expiresAt: at + 3600_000,
    lastUsedAt: null,
    revokedAt: null,
    revokedReason: null,
  });
  const { token } = await t.runtime.accessTokens.issue({ grantId, userId, clientId, scope: 'mcp:read mcp:write', resource: gatewayResource(t.config.publicUrl) });
  return { grantId, token };
}
