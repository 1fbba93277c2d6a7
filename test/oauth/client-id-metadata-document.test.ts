import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { validateAuthorizationRequest } from '../../src/oauth/authorization-request.js';
import { clientDirectory, type ClientDirectory, type MetadataDocumentResolver } from '../../src/oauth/clients.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { cacheLifetimeMs, MAX_CACHE_MS, metadataDocumentResolver, MIN_CACHE_MS, type MetadataDocumentDeps } from '../../src/oauth/client-id-metadata-document.js';
import { redirectUriMatches } from '../../src/oauth/redirect-uris.js';
import { startTestApp } from '../helpers/app.js';
import { backends, openTestStore } from '../helpers/backends.js';
import { localServer, selfSignedCertificate, type LocalServer, type SelfSignedCertificate } from '../net/tls-fixture.js';

/** What the fixture server answers for a path; a function gets the response to do anything else. */
type Answer = { status?: number; headers?: Record<string, string>; body: string } | ((res: ServerResponse) => void);

const HOUR = 3600_000;
const CALLER = { ip: '198.51.100.20' };
/** The caps have their own tests (metadata-document-limits.test.ts); here every fetch is allowed. */
const NO_LIMITS = { countMetadataDocumentFetch: async () => undefined };

function document(clientId: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    client_id: clientId,
    client_name: 'Example Agent',
    client_uri: 'https://agent.example/',
    redirect_uris: ['http://127.0.0.1/callback', 'https://agent.example/oauth/callback'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...extra,
  });
}

function refusedWith(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof OAuthError, String(error));
    assert.equal(error.error, 'invalid_client');
    assert.match(error.description, pattern);
    return true;
  };
}

const config: MetadataDocumentDeps['config'] = {
  allowPrivateNetworks: true,
  oauth: { registrationPolicy: 'open', allowedRedirectSchemes: ['cursor'], strictScope: 'mcp:read mcp:write' },
};

describe('client ID metadata documents', () => {
  let tls: SelfSignedCertificate;
  let server: LocalServer;
  const answers = new Map<string, Answer>();
  const hits = (path: string) => server.requests.filter((p) => p === path).length;
  const url = (path: string) => `${server.origin}${path}`;

  before(async () => {
    tls = selfSignedCertificate();
    server = await localServer(
      (req, res) => {
        const answer = answers.get(req.url ?? '');
        if (!answer) return res.writeHead(404).end();
        if (typeof answer === 'function') return answer(res);
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
      },
      { tls },
    );
  });
  after(() => server.close());

  for (const backend of backends) {
    describe(`cache on ${backend}`, () => {
      let store: Awaited<ReturnType<typeof openTestStore>>;
      let clock: number;
      let clients: ClientDirectory;
      before(async () => {
        store = await openTestStore(backend);
      });
      after(() => store.close());
      beforeEach(() => {
        clock = Date.UTC(2030, 0, 1);
        clients = clientDirectory(store.clients, metadataDocumentResolver({ clients: store.clients, limits: NO_LIMITS, config, now: () => clock, fetchOptions: { ca: tls.cert } }));
      });

      it('resolves a document into a public client, cached so that a second find does not refetch', async () => {
        const clientId = url(`/${backend}/happy`);
        answers.set(`/${backend}/happy`, { body: document(clientId, { jwks_uri: 'https://agent.example/jwks' }) });
        const client = await clients.find(clientId, CALLER);
        assert.ok(client);
        assert.equal(client.kind, 'metadata_document');
        assert.equal(client.record.authMethod, 'none');
        assert.equal(client.metadata.client_name, 'Example Agent');
        assert.deepEqual(client.metadata.redirect_uris, ['http://127.0.0.1/callback', 'https://agent.example/oauth/callback']);
        assert.deepEqual(client.metadata.grant_types, ['authorization_code', 'refresh_token'], 'unsupported grant types are filtered out');
        assert.equal((client.metadata as unknown as Record<string, unknown>).jwks_uri, undefined, 'unknown fields are not kept');
        const again = await clients.find(clientId, CALLER);
        assert.deepEqual(again?.metadata, client.metadata);
        assert.equal(hits(`/${backend}/happy`), 1, 'served from the cache');
        const row = await store.clients.find(clientId);
        assert.equal(row?.kind, 'metadata_document');
        assert.equal(row?.metadataExpiresAt, clock + MIN_CACHE_MS, 'no Cache-Control: the minimum lifetime');
      });

      it('honours max-age: served from the cache until it runs out, then fetched again', async () => {
        const path = `/${backend}/max-age`;
        const clientId = url(path);
        answers.set(path, { headers: { 'cache-control': 'public, max-age=600' }, body: document(clientId) });
        await clients.find(clientId, CALLER);
        clock += 599_000;
        await clients.find(clientId, CALLER);
        assert.equal(hits(path), 1);
        clock += 2_000;
        answers.set(path, { headers: { 'cache-control': 'max-age=600' }, body: document(clientId, { client_name: 'Renamed Agent' }) });
        const refreshed = await clients.find(clientId, CALLER);
        assert.equal(hits(path), 2);
        assert.equal(refreshed?.metadata.client_name, 'Renamed Agent');
        assert.equal((await store.clients.find(clientId))?.metadataExpiresAt, clock + 600_000);
      });

      it('clamps the lifetime to at least a minute and at most a day', async () => {
        const short = url(`/${backend}/short`);
        answers.set(`/${backend}/short`, { headers: { 'cache-control': 'max-age=5' }, body: document(short) });
        const long = url(`/${backend}/long`);
        answers.set(`/${backend}/long`, { headers: { 'cache-control': 'max-age=31536000' }, body: document(long) });
        await clients.find(short, CALLER);
        await clients.find(long, CALLER);
        assert.equal((await store.clients.find(short))?.metadataExpiresAt, clock + MIN_CACHE_MS);
        assert.equal((await store.clients.find(long))?.metadataExpiresAt, clock + MAX_CACHE_MS);
        clock += 30_000;
        await clients.find(short, CALLER);
        assert.equal(hits(`/${backend}/short`), 1, 'max-age=5 still caches for a minute');
      });

      it('a failed refetch of an expired entry refuses the client instead of serving the stale copy', async () => {
        const path = `/${backend}/stale`;
        const clientId = url(path);
        answers.set(path, { body: document(clientId) });
        assert.ok(await clients.find(clientId, CALLER));
        clock += MIN_CACHE_MS + 1;
        answers.set(path, { status: 500, body: 'down' });
        await assert.rejects(clients.find(clientId, CALLER), refusedWith(/answered with HTTP 500|could not be fetched/));
        assert.equal(hits(path), 2);
      });

      it('an invalid document is not cached: once fixed, the next find fetches it', async () => {
        const path = `/${backend}/fixed-later`;
        const clientId = url(path);
        answers.set(path, { body: document('https://other.example/client') });
        await assert.rejects(clients.find(clientId, CALLER), refusedWith(/names another client_id/));
        assert.equal(await store.clients.find(clientId), undefined);
        answers.set(path, { body: document(clientId) });
        assert.ok(await clients.find(clientId, CALLER));
        assert.equal(hits(path), 2);
      });

      it('concurrent finds of an uncached client share one fetch', async () => {
        const path = `/${backend}/concurrent`;
        const clientId = url(path);
        answers.set(path, { body: document(clientId) });
        const found = await Promise.all([clients.find(clientId, CALLER), clients.find(clientId, CALLER), clients.find(clientId, CALLER)]);
        assert.ok(found.every((c) => c?.clientId === clientId));
        assert.equal(hits(path), 1);
      });
    });
  }

  describe('refusals', () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let resolve: MetadataDocumentResolver;
    let clients: ClientDirectory;
    before(async () => {
      store = await openTestStore('sqlite');
      resolve = metadataDocumentResolver({ clients: store.clients, limits: NO_LIMITS, config, fetchOptions: { ca: tls.cert } });
      clients = clientDirectory(store.clients, resolve);
    });
    after(() => store.close());

    const refusalCases: Array<[string, (clientId: string) => Answer, RegExp]> = [
      ['a document naming another client_id', () => ({ body: document('https://evil.example/client') }), /names another client_id/],
      ['a client_id differing only by a trailing slash', (id) => ({ body: document(`${id}/`) }), /names another client_id/],
      ['a document without redirect_uris', (id) => ({ body: JSON.stringify({ client_id: id, client_name: 'x' }) }), /redirect_uris \(an array of URIs\) is required/],
      ['a javascript: redirect URI', (id) => ({ body: document(id, { redirect_uris: ['javascript:alert(1)'] }) }), /uses the javascript: scheme/],
      ['a redirect URI with a fragment', (id) => ({ body: document(id, { redirect_uris: ['https://agent.example/cb#x'] }) }), /has a fragment/],
      ['plain http to a non-loopback host', (id) => ({ body: document(id, { redirect_uris: ['http://agent.example/cb'] }) }), /uses http on a host that is not loopback/],
      ['a shared-secret auth method', (id) => ({ body: document(id, { token_endpoint_auth_method: 'client_secret_basic' }) }), /cannot hold a secret/],
      ['private_key_jwt', (id) => ({ body: document(id, { token_endpoint_auth_method: 'private_key_jwt' }) }), /private_key_jwt, which is not supported/],
      ['a client_secret in the document', (id) => ({ body: document(id, { client_secret: 'hunter2' }) }), /must not contain client_secret/],
      ['a document over 5 KB', (id) => ({ body: document(id, { client_name: 'x'.repeat(200), padding: 'p'.repeat(6000) }) }), /larger than 5120 bytes/],
      ['a document that is not JSON', () => ({ body: '<html>not json</html>' }), /is not JSON/],
      ['a JSON array', (id) => ({ body: JSON.stringify([id]) }), /not a JSON object/],
      ['a 404', () => ({ status: 404, body: '{}' }), /HTTP 404/],
      ['a redirect, which is never followed', (id) => (res) => res.writeHead(302, { location: `${id}-moved` }).end(), /redirect, which is not followed/],
    ];
    for (const [index, [name, answer, pattern]] of refusalCases.entries()) {
      it(`refuses ${name}`, async () => {
        const path = `/refuse/${index}`;
        const clientId = url(path);
        answers.set(path, answer(clientId));
        answers.set(`${path}-moved`, { body: document(`${clientId}-moved`) });
        await assert.rejects(clients.find(clientId, CALLER), refusedWith(pattern));
        assert.equal(hits(`${path}-moved`), 0);
        assert.equal(await store.clients.find(clientId), undefined, 'nothing is cached');
      });
    }

    it('refuses client_id URLs that break the Client Identifier URL rules, without fetching anything', async () => {
      const before = server.requests.length;
      const origin = server.origin;
      const bad: Array<[string, RegExp]> = [
        [`http://127.0.0.1:${server.port}/client`, /must use https/],
        [`${origin}/`, /must have a path/],
        [`${origin}/client#frag`, /fragment/],
        [`https://user:pw@127.0.0.1:${server.port}/client`, /credentials/],
        [`${origin}/a/../client`, /\. or \.\. path segments/],
        [`${origin}/a/%2e%2e/client`, /\. or \.\. path segments/],
        [`${origin}/./client`, /\. or \.\. path segments/],
        [`https://LOCALHOST:${server.port}/client`, /canonical form/],
        [`https://127.0.0.1:443/client`, /canonical form/],
        ['https://', /not a URL/],
      ];
      for (const [clientId, pattern] of bad) await assert.rejects(resolve(clientId, CALLER), refusedWith(pattern), clientId);
      assert.equal(server.requests.length, before);
    });

    it('refuses a document on a private address when private networks are not allowed, and requests nothing', async () => {
      const path = '/private-network';
      const clientId = url(path);
      answers.set(path, { body: document(clientId) });
      const guarded = clientDirectory(store.clients, metadataDocumentResolver({ clients: store.clients, limits: NO_LIMITS, config: { ...config, allowPrivateNetworks: false }, fetchOptions: { ca: tls.cert } }));
      await assert.rejects(guarded.find(clientId, CALLER), refusedWith(/could not be fetched$/));
      assert.equal(hits(path), 0);
    });

    it('under the closed registration policy a metadata-document client is refused and nothing is fetched', async () => {
      const path = '/closed-policy';
      const clientId = url(path);
      answers.set(path, { body: document(clientId) });
      const closed = { ...config, oauth: { ...config.oauth, registrationPolicy: 'closed' as const } };
      const guarded = clientDirectory(store.clients, metadataDocumentResolver({ clients: store.clients, limits: NO_LIMITS, config: closed, fetchOptions: { ca: tls.cert } }));
      await assert.rejects(guarded.find(clientId, CALLER), refusedWith(/registration policy "closed"/));
      assert.equal(hits(path), 0);
    });

    it('the authorization request shows an error page for a redirect URI the document does not list', async () => {
      const path = '/authorize-check';
      const clientId = url(path);
      answers.set(path, { body: document(clientId) });
      const deps = { clients, publicUrl: 'https://gatehouse.example', registrationPolicy: 'open' as const, strictScope: 'mcp:read mcp:write', redirectUriMatches, virtualServerExists: async () => false };
      const params = { response_type: 'code', client_id: clientId, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' };
      const unlisted = await validateAuthorizationRequest({ ...params, redirect_uri: 'https://evil.example/callback' }, deps, CALLER);
      assert.equal(unlisted.kind, 'page');
      const listed = await validateAuthorizationRequest({ ...params, redirect_uri: 'http://127.0.0.1:53124/callback' }, deps, CALLER);
      assert.equal(listed.kind, 'valid', 'a listed loopback URI matches on any port');
    });
  });

  it('the runtime resolves https client_ids through the guarded fetch (loopback refused by default)', async () => {
    const t = await startTestApp();
    try {
      const clientId = url('/runtime');
      answers.set('/runtime', { body: document(clientId) });
      await assert.rejects(t.runtime.clients.find(clientId, CALLER), refusedWith(/could not be fetched$/));
      assert.equal(hits('/runtime'), 0);
    } finally {
      await t.close();
    }
  });

  it('the authorization error page says a document could not be fetched, never how its host resolves; the log says why', async () => {
    const logged: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (logged.push(String(chunk)), done()) });
    const t = await startTestApp({ logger: pino({ level: 'warn' }, sink) });
    try {
      const clientId = url('/authorize-page');
      answers.set('/authorize-page', { body: document(clientId) });
      const query = new URLSearchParams({ response_type: 'code', client_id: clientId, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
      const res = await t.app.inject({ method: 'GET', url: `/oauth/authorize?${query}` });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /could not be fetched/);
      assert.doesNotMatch(res.body, /resolves|private|special-purpose/);
      assert.match(logged.join(''), /resolves to a private or special-purpose address/);
    } finally {
      await t.close();
    }
  });

  describe('cache lifetime from Cache-Control', () => {
    const cases: Array<[string | undefined, number]> = [
      [undefined, MIN_CACHE_MS],
      ['', MIN_CACHE_MS],
      ['max-age=3600', HOUR],
      ['public, max-age=120', 120_000],
      ['max-age="300"', 300_000],
      ['max-age=0', MIN_CACHE_MS],
      ['max-age=999999', MAX_CACHE_MS],
      ['no-store', MIN_CACHE_MS],
      ['max-age=3600, no-cache', MIN_CACHE_MS],
      ['MAX-AGE=7200', 2 * HOUR],
      ['s-maxage=7200', MIN_CACHE_MS],
    ];
    for (const [header, expected] of cases) {
      it(`${JSON.stringify(header)} -> ${expected / 1000} s`, () => assert.equal(cacheLifetimeMs(header), expected));
    }
  });
});
