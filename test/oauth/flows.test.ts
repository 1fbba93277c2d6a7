import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { keyedHasher } from '../../src/crypto/keyed-hash.js';
import type { AuthorizationRequest } from '../../src/oauth/authorization-request.js';
import { consentAlreadyGiven, consentMemory } from '../../src/oauth/consent.js';
import { flowCookieName, pendingFlows, type PendingFlows } from '../../src/oauth/flows.js';
import { backends, openTestStore, tempDir } from '../helpers/backends.js';

const REQUEST = {
  client: { clientId: 'cli_test' },
  redirectUri: 'http://127.0.0.1:5000/callback',
  scope: 'mcp:read',
  resource: 'http://127.0.0.1:8080/mcp',
  state: 'xyz',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  prompt: null,
} as unknown as AuthorizationRequest;

/** The cookies a reply set, as a browser would send them back. */
function cookieJar() {
  const cookies: Record<string, string> = {};
  const reply = {
    setCookie(name: string, value: string) {
      cookies[name] = value;
      return reply;
    },
    clearCookie(name: string) {
      delete cookies[name];
      return reply;
    },
  } as unknown as FastifyReply;
  return { cookies, reply, request: (sent: Record<string, string> = cookies) => ({ cookies: sent }) as unknown as FastifyRequest };
}

for (const backend of backends) {
  describe(`pending flows and remembered consent (${backend})`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let clock = Date.now();
    let flows: PendingFlows;
    const dir = tempDir();
    const config = loadConfig({ dataDir: dir.dir }, {});
    const keys = { tokenHasher: keyedHasher([{ version: 1, key: randomBytes(32) }]) };

    before(async () => {
      store = await openTestStore(backend);
      flows = pendingFlows({ config, store, keys }, () => clock);
    });
    after(async () => {
      await store.close();
      dir.remove();
    });

    it('a started flow opens in the browser holding its cookie, with the CSRF token the form must carry', async () => {
      const jar = cookieJar();
      const id = await flows.start(REQUEST, jar.reply);
      const opened = await flows.open(id, jar.request());
      assert.ok(typeof opened === 'object');
      assert.deepEqual([opened.flow.clientId, opened.flow.state, opened.flow.scope], ['cli_test', 'xyz', 'mcp:read']);
      assert.ok(flows.csrfMatches(opened.flow, opened.csrfToken));
      assert.ok(!flows.csrfMatches(opened.flow, undefined));
      assert.ok(!flows.csrfMatches(opened.flow, `gth_csrf_${'x'.repeat(43)}`));
      assert.ok(!JSON.stringify(opened.flow).includes(opened.csrfToken), 'the store holds no raw token');
    });

    it('a flow is foreign to a browser without its cookie or with another flow\'s cookie', async () => {
      const first = cookieJar();
      const second = cookieJar();
      const id = await flows.start(REQUEST, first.reply);
      const otherId = await flows.start(REQUEST, second.reply);
      assert.equal(await flows.open(id, second.request()), 'foreign');
      const swapped = { [flowCookieName(id, false)]: second.cookies[flowCookieName(otherId, false)]! };
      assert.equal(await flows.open(id, first.request(swapped)), 'foreign');
      assert.equal(await flows.open(id, first.request({ [flowCookieName(id, false)]: 'garbage' })), 'foreign');
    });

    it('a flow completes once; after that, or after its TTL, it is expired', async () => {
      const jar = cookieJar();
      const id = await flows.start(REQUEST, jar.reply);
      assert.equal(await flows.complete(id), true);
      assert.equal(await flows.complete(id), false, 'compare-and-set: the second completion fails');
      assert.equal(await flows.open(id, jar.request()), 'expired');

      const later = await flows.start(REQUEST, jar.reply);
      clock += config.oauth.flowTtlSeconds * 1000;
      assert.equal(await flows.open(later, jar.request()), 'expired');
      assert.equal(await flows.complete(later), false);
      assert.equal(await flows.open('flow_doesnotexistatall123', jar.request()), 'expired');
    });

    it('remembered consent covers requested scopes, grows by union, and yields to prompt=consent', async () => {
      for (const id of ['usr_1', 'usr_2']) {
        await store.users.create({ id, username: id, passwordHash: 'unused', isAdmin: false, disabledAt: null, createdAt: clock, updatedAt: clock });
      }
      const memory = consentMemory(store.consents, () => clock);
      const resource = 'http://127.0.0.1:8080/mcp';
      assert.equal(await memory.covers('usr_1', 'cli_a', resource, 'mcp:read'), false);
      await memory.remember('usr_1', 'cli_a', resource, 'mcp:read');
      assert.equal(await memory.covers('usr_1', 'cli_a', resource, 'mcp:read'), true);
      assert.equal(await memory.covers('usr_1', 'cli_a', resource, 'mcp:read mcp:write'), false, 'more scope asks again');
      assert.equal(await memory.covers('usr_2', 'cli_a', resource, 'mcp:read'), false, 'another user');
      assert.equal(await memory.covers('usr_1', 'cli_b', resource, 'mcp:read'), false, 'another client');
      assert.equal(await memory.covers('usr_1', 'cli_a', `${resource}/other`, 'mcp:read'), false, 'another resource');
      await memory.remember('usr_1', 'cli_a', resource, 'mcp:write');
      assert.equal((await store.consents.find('usr_1', 'cli_a', resource))?.scope, 'mcp:read mcp:write');

      const flow = { clientId: 'cli_a', resource, scope: 'mcp:read', prompt: null } as Parameters<typeof consentAlreadyGiven>[1];
      assert.equal(await consentAlreadyGiven(memory, flow, 'usr_1'), true);
      assert.equal(await consentAlreadyGiven(memory, { ...flow, prompt: 'consent' }, 'usr_1'), false);
      assert.equal(await consentAlreadyGiven(memory, { ...flow, prompt: 'login consent' }, 'usr_1'), false);
    });
  });
}
