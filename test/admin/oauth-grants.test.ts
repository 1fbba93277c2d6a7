import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UserRecord } from '../../src/store/index.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { storeClient, storeGrant } from '../helpers/grant-fixtures.js';
import { assertEnvelope, sendJson } from './api-client.js';
import type { GrantView } from '../../src/admin/oauth-grants.js';

const NOT_FOUND = { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' };
const ALICE = { authorization: basicAuth('alice', 'alice-password') };
const BOB = { authorization: basicAuth('bob', 'bob-password') };


const idsOf = (body: { grants: GrantView[] }) => body.grants.map((grant) => grant.id).sort();

for (const backend of backends) {
  describe(`/api/oauth/grants and /api/me/grants on ${backend}`, () => {
    let t: TestApp;
    let alice: UserRecord;
    let bob: UserRecord;
    let editor: string;
    let other: string;
    before(async () => {
      t = await startTestApp({ backend });
      alice = await t.runtime.users.create({ username: 'alice', password: 'alice-password' });
      bob = await t.runtime.users.create({ username: 'bob', password: 'bob-password' });
      editor = await storeClient(t.runtime, { name: 'Editor' });
      other = await storeClient(t.runtime);
    });
    after(() => t.close());

    it('lists live grants with user, client name, scope, resource and ISO times', async () => {
      const grant = await storeGrant(t.runtime, alice.id, editor, { lastUsedAt: Date.now() });
      const res = await sendJson(t, 'GET', '/api/oauth/grants');
      assert.equal(res.statusCode, 200, res.body);
      const view = (res.json().grants as GrantView[]).find((g) => g.id === grant.id);
      assert.deepEqual(view, {
        id: grant.id,
        user: 'alice',
        client_id: editor,
        client_name: 'Editor',
        scope: 'mcp:read mcp:write',
        resource: `${t.config.publicUrl}/mcp`,
        created_at: new Date(grant.createdAt).toISOString(),
        last_used_at: new Date(grant.lastUsedAt!).toISOString(),
        expires_at: new Date(grant.expiresAt).toISOString(),
        revoked_at: null,
        revoked_reason: null,
      });
    });

    it('filters by username and client, and hides revoked grants unless asked', async () => {
      const mine = await storeGrant(t.runtime, bob.id, other);
      const revoked = await storeGrant(t.runtime, bob.id, other, { revokedAt: Date.now(), revokedReason: 'test' });
      const alices = await storeGrant(t.runtime, alice.id, other);
      assert.deepEqual(idsOf((await sendJson(t, 'GET', `/api/oauth/grants?user=bob&client_id=${other}`)).json()), [mine.id]);
      assert.deepEqual(idsOf((await sendJson(t, 'GET', `/api/oauth/grants?user=bob&include_revoked=true`)).json()), [mine.id, revoked.id].sort());
      assert.ok(idsOf((await sendJson(t, 'GET', `/api/oauth/grants?client_id=${other}`)).json()).includes(alices.id));
      assert.deepEqual((await sendJson(t, 'GET', '/api/oauth/grants?user=nobody')).json(), { grants: [] });
      const listed = (await sendJson(t, 'GET', '/api/oauth/grants?user=bob&include_revoked=true')).json().grants as GrantView[];
      assert.equal(listed.find((g) => g.id === revoked.id)?.revoked_reason, 'test');
    });

    it('refuses unknown query parameters and a non-boolean include_revoked', async () => {
      assertEnvelope(await sendJson(t, 'GET', '/api/oauth/grants?include_revoked=yes'), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'include_revoked' });
      assertEnvelope(await sendJson(t, 'GET', '/api/oauth/grants?owner=bob'), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'owner' });
    });

    it("an admin revokes any user's grant: 204, revokedAt set, audited, and it leaves the live list", async () => {
      const grant = await storeGrant(t.runtime, alice.id, editor);
      const res = await sendJson(t, 'DELETE', `/api/oauth/grants/${grant.id}`);
      assert.equal(res.statusCode, 204, res.body);
      const stored = await t.runtime.store.grants.find(grant.id);
      assert.ok(stored?.revokedAt, 'the grant is revoked in the store');
      assert.equal(stored.revokedReason, 'revoked by an admin');
      assert.ok(!idsOf((await sendJson(t, 'GET', '/api/oauth/grants?user=alice')).json()).includes(grant.id));
      const audit = await t.runtime.store.audit.list({ kind: 'grant.revoked', limit: 50 });
      assert.ok(audit.some((event) => event.grantId === grant.id));
      assert.equal((await sendJson(t, 'DELETE', `/api/oauth/grants/${grant.id}`)).statusCode, 204, 'revoking again succeeds again');
    });

    it("revoking a grant forgets that user's remembered consent for the client, so it must ask again", async () => {
      const resource = `${t.config.publicUrl}/mcp`;
      for (const user of [alice, bob]) await t.runtime.store.consents.save({ userId: user.id, clientId: editor, resource, scope: 'mcp:read', grantedAt: Date.now() });
      const byAdmin = await storeGrant(t.runtime, alice.id, editor);
      assert.equal((await sendJson(t, 'DELETE', `/api/oauth/grants/${byAdmin.id}`)).statusCode, 204);
      assert.equal(await t.runtime.store.consents.find(alice.id, editor, resource), undefined);
      assert.ok(await t.runtime.store.consents.find(bob.id, editor, resource), "bob's consent stays");
      const byBob = await storeGrant(t.runtime, bob.id, editor);
      assert.equal((await sendJson(t, 'DELETE', `/api/me/grants/${byBob.id}`, undefined, BOB)).statusCode, 204);
      assert.equal(await t.runtime.store.consents.find(bob.id, editor, resource), undefined);
    });

    it('revoking an unknown grant id answers 404 with the envelope', async () => {
      assertEnvelope(await sendJson(t, 'DELETE', '/api/oauth/grants/grt_unknown'), NOT_FOUND);
    });

    it('a user who is not an admin may not use the admin grant routes', async () => {
      const grant = await storeGrant(t.runtime, alice.id, editor);
      assertEnvelope(await sendJson(t, 'GET', '/api/oauth/grants', undefined, ALICE), { status: 403, type: 'permission_error', code: 'forbidden' });
      assertEnvelope(await sendJson(t, 'DELETE', `/api/oauth/grants/${grant.id}`, undefined, ALICE), { status: 403, type: 'permission_error', code: 'forbidden' });
      assert.equal((await t.runtime.store.grants.find(grant.id))?.revokedAt, null);
    });

    it('/api/me/grants lets a user who is not an admin list only their own grants, with a password or an API key', async () => {
      const aliceGrant = await storeGrant(t.runtime, alice.id, editor);
      const bobGrant = await storeGrant(t.runtime, bob.id, editor);
      const listed = (await sendJson(t, 'GET', '/api/me/grants', undefined, ALICE)).json() as { grants: GrantView[] };
      assert.ok(listed.grants.length > 0);
      assert.ok(listed.grants.every((g) => g.user === 'alice'));
      assert.ok(idsOf(listed).includes(aliceGrant.id));
      assert.ok(!idsOf(listed).includes(bobGrant.id));
      const { token } = await t.runtime.apiKeys.create({ user: alice, name: 'cli' });
      const viaKey = await sendJson(t, 'GET', `/api/me/grants?client_id=${editor}`, undefined, { 'x-api-key': token });
      assert.equal(viaKey.statusCode, 200, viaKey.body);
      assert.ok(idsOf(viaKey.json()).includes(aliceGrant.id));
      assert.ok((viaKey.json().grants as GrantView[]).every((g) => g.user === 'alice' && g.client_id === editor));
    });

    it('/api/me/grants still needs credentials', async () => {
      assertEnvelope(await sendJson(t, 'GET', '/api/me/grants', undefined, {}), { status: 401, type: 'authentication_error', code: 'unauthorized' });
      assertEnvelope(await sendJson(t, 'GET', '/api/me/grants', undefined, { authorization: basicAuth('alice', 'wrong') }), { status: 401, type: 'authentication_error', code: 'unauthorized' });
    });

    it("a user revokes their own grant, and another user's grant id is a 404 that revokes nothing", async () => {
      const aliceGrant = await storeGrant(t.runtime, alice.id, editor);
      const bobGrant = await storeGrant(t.runtime, bob.id, editor);
      assertEnvelope(await sendJson(t, 'DELETE', `/api/me/grants/${bobGrant.id}`, undefined, ALICE), NOT_FOUND);
      assert.equal((await t.runtime.store.grants.find(bobGrant.id))?.revokedAt, null, "bob's grant is untouched");
      assertEnvelope(await sendJson(t, 'DELETE', '/api/me/grants/grt_unknown', undefined, ALICE), NOT_FOUND);
      assert.equal((await sendJson(t, 'DELETE', `/api/me/grants/${aliceGrant.id}`, undefined, ALICE)).statusCode, 204);
      const stored = await t.runtime.store.grants.find(aliceGrant.id);
      assert.ok(stored?.revokedAt);
      assert.equal(stored.revokedReason, 'revoked by its user');
      assert.ok(!idsOf((await sendJson(t, 'GET', '/api/me/grants', undefined, ALICE)).json()).includes(aliceGrant.id));
      assert.equal((await sendJson(t, 'DELETE', `/api/me/grants/${bobGrant.id}`, undefined, BOB)).statusCode, 204);
    });
  });
}
