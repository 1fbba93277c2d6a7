import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keyedHasher } from '../../src/crypto/keyed-hash.js';
import { clientDirectory } from '../../src/oauth/clients.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { metadataDocumentResolver, MIN_CACHE_MS, type MetadataDocumentDeps } from '../../src/oauth/client-id-metadata-document.js';
import { registrationLimits, type RegistrationLimitSettings } from '../../src/oauth/registration-limits.js';
import { startTestApp } from '../helpers/app.js';
import { backends, openTestStore } from '../helpers/backends.js';
import { localServer, selfSignedCertificate, type LocalServer } from '../net/tls-fixture.js';

const config: MetadataDocumentDeps['config'] = { allowPrivateNetworks: true, oauth: { registrationPolicy: 'open', allowedRedirectSchemes: [], strictScope: 'mcp:read mcp:write' } };
const hasher = keyedHasher([{ version: 1, key: Buffer.alloc(32, 7) }]);

function limitedWith(error: RegExp) {
  return (thrown: unknown) => {
    assert.ok(thrown instanceof OAuthError, String(thrown));
    assert.equal(thrown.status, 429);
    assert.match(thrown.description, error);
    assert.ok(Number(thrown.headers['retry-after']) > 0, 'Retry-After is set');
    return true;
  };
}

describe('metadata-document clients under the registration caps', () => {
  let server: LocalServer;
  let ca: string;
  const fetched = (path: string) => server.requests.filter((p) => p === path).length;

  before(async () => {
    const tls = selfSignedCertificate();
    ca = tls.cert;
    // Every path serves a valid document naming itself.
    server = await localServer(
      (req, res) => {
        const clientId = `${server.origin}${req.url}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ client_id: clientId, redirect_uris: ['http://127.0.0.1/cb'] }));
      },
      { tls },
    );
  });
  after(() => server.close());

  for (const backend of backends) {
    describe(`on ${backend}`, () => {
      let store: Awaited<ReturnType<typeof openTestStore>>;
      before(async () => {
        store = await openTestStore(backend);
      });
      after(() => store.close());

      /** A directory whose limits are `settings` (unlimited otherwise), on a clock the test moves. */
      function directory(settings: Partial<RegistrationLimitSettings>, clock: { at: number }) {
        const oauth = { registrationsPerIpPerDay: 1000, registrationsPerDay: 1000, metadataDocumentFetchesPerIpPerHour: 1000, ...settings };
        const limits = registrationLimits({ rateWindows: store.rateWindows, initialAccessTokens: store.initialAccessTokens, hasher, oauth });
        return clientDirectory(store.clients, metadataDocumentResolver({ clients: store.clients, limits, config, now: () => clock.at, fetchOptions: { ca } }));
      }

      it('a first-time client_id counts as a registration from its caller: over the per-address cap, 429 and nothing fetched', async () => {
        const clock = { at: Date.UTC(2031, 0, 1, 12) };
        const clients = directory({ registrationsPerIpPerDay: 2 }, clock);
        const id = (name: string) => `${server.origin}/${backend}/per-ip/${name}`;
        await clients.find(id('a'), { ip: '198.51.100.1' });
        await clients.find(id('b'), { ip: '198.51.100.1' });
        await assert.rejects(clients.find(id('c'), { ip: '198.51.100.1' }), limitedWith(/registration limit reached \(per client address per day\)/));
        assert.equal(fetched(`/${backend}/per-ip/c`), 0);
        assert.equal(await store.clients.find(id('c')), undefined, 'no client row was made');
        assert.ok(await clients.find(id('c'), { ip: '198.51.100.2' }), 'another address still may');
      });

      it('first-time client_ids from many addresses count toward the server-wide daily cap', async () => {
        const clock = { at: Date.UTC(2031, 0, 2, 12) };
        const clients = directory({ registrationsPerDay: 2 }, clock);
        const id = (name: string) => `${server.origin}/${backend}/global/${name}`;
        await clients.find(id('a'), { ip: '203.0.113.1' });
        await clients.find(id('b'), { ip: '203.0.113.2' });
        await assert.rejects(clients.find(id('c'), { ip: '203.0.113.3' }), limitedWith(/for this server per day/));
        assert.equal(fetched(`/${backend}/global/c`), 0);
      });

      it('a cached client costs nothing; each refetch counts toward the caller\'s hourly fetch window only', async () => {
        const clock = { at: Date.UTC(2031, 0, 3, 12) };
        const clients = directory({ registrationsPerIpPerDay: 1, metadataDocumentFetchesPerIpPerHour: 2 }, clock);
        const clientId = `${server.origin}/${backend}/refetch`;
        const caller = { ip: '192.0.2.44' };
        await clients.find(clientId, caller);
        await clients.find(clientId, caller);
        assert.equal(fetched(`/${backend}/refetch`), 1, 'the second find was served from the cache');
        clock.at += MIN_CACHE_MS + 1;
        await clients.find(clientId, caller);
        assert.equal(fetched(`/${backend}/refetch`), 2, 'a refetch is not a new registration (the daily cap of 1 is used up)');
        clock.at += MIN_CACHE_MS + 1;
        await assert.rejects(clients.find(clientId, caller), limitedWith(/fetch limit reached \(per client address per hour\)/));
        assert.equal(fetched(`/${backend}/refetch`), 2);
      });
    });
  }
});

describe('capped metadata-document clients at the endpoints', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    t = await startTestApp({ flags: { oauth: { metadataDocumentFetchesPerIpPerHour: 1 } } });
    // The one fetch this address may make this hour (it fails: loopback is not fetched, but it was made).
    await t.runtime.clients.find('https://127.0.0.1:1/first-client', { ip: '127.0.0.1' }).catch(() => undefined);
  });
  after(() => t.close());

  it('the authorization endpoint answers with an error page, 429 with Retry-After', async () => {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'https://127.0.0.1:1/second-client', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    const res = await t.app.inject({ method: 'GET', url: `/oauth/authorize?${query}` });
    assert.equal(res.statusCode, 429);
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.match(res.body, /fetch limit reached/);
  });

  it('the token endpoint answers an RFC 6749 error, 429 with Retry-After', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'https://127.0.0.1:1/third-client', code: 'x' }).toString(),
    });
    assert.equal(res.statusCode, 429);
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.equal(res.json().error, 'invalid_request');
    assert.match(res.json().error_description, /fetch limit reached/);
  });
});
