import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { guardedFetch, GuardedFetchError, type GuardedFetchFailure, type GuardedFetchOptions } from '../../src/net/guarded-fetch.js';
import { localServer, selfSignedCertificate, type LocalServer, type SelfSignedCertificate } from './tls-fixture.js';

const limits = { maxBytes: 4096, timeoutMs: 3000 };

async function refusal(url: string, options: GuardedFetchOptions): Promise<GuardedFetchError> {
  try {
    await guardedFetch(url, options);
  } catch (error) {
    assert.ok(error instanceof GuardedFetchError, `a GuardedFetchError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${url} was fetched`);
}

async function assertRefused(url: string, options: GuardedFetchOptions, reason: GuardedFetchFailure): Promise<GuardedFetchError> {
  const error = await refusal(url, options);
  assert.equal(error.reason, reason, `${url}: ${error.message}`);
  return error;
}

describe('guarded fetch', () => {
  let tls: SelfSignedCertificate;
  const servers: LocalServer[] = [];
  const serve = async (...args: Parameters<typeof localServer>) => {
    const server = await localServer(...args);
    servers.push(server);
    return server;
  };
  before(() => {
    tls = selfSignedCertificate();
  });
  after(() => Promise.all(servers.map((s) => s.close())));

  describe('without private networks', () => {
    let target: LocalServer;
    before(async () => {
      // Listens on every local address, v4 and v6, so any request that slipped through would be counted.
      target = await serve((_req, res) => res.end('{"secret":"internal"}'), { tls, host: '::' });
    });

    for (const host of ['127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]', '0x7f.1', '2130706433']) {
      it(`refuses https://${host} before connecting`, async () => {
        const error = await assertRefused(`https://${host}:${target.port}/doc`, { ...limits, ca: tls.cert }, 'blocked_address');
        assert.equal(target.connections, 0, 'the local listener saw nothing');
        if (host === 'localhost') assert.doesNotMatch(error.message, /127\.0\.0\.1|::1/, 'the resolved address of a name is not disclosed');
      });
    }

    for (const url of ['https://10.0.0.1/doc', 'https://169.254.169.254/latest/meta-data/', 'https://[fd00::1]/doc', 'https://192.168.0.1/doc', 'https://[::]/']) {
      it(`refuses ${url}`, async () => {
        await assertRefused(url, limits, 'blocked_address');
      });
    }

    it('refuses http: even to an address the policy would allow, and connects nowhere', async () => {
      const plain = await serve((_req, res) => res.end('ok'));
      await assertRefused(`${plain.origin}/doc`, { ...limits, isAllowedAddress: () => true }, 'bad_scheme');
      assert.equal(plain.connections, 0);
    });

    it('refuses URLs with credentials and other schemes', async () => {
      await assertRefused('https://user:pw@example.com/doc', limits, 'bad_url');
      await assertRefused('file:///etc/passwd', limits, 'bad_scheme');
      await assertRefused('ftp://example.com/doc', limits, 'bad_scheme');
      await assertRefused('not a url', limits, 'bad_url');
    });

    it('refuses a host when any one of its addresses is blocked, and connects nowhere', async () => {
      const options = { ...limits, ca: tls.cert, isAllowedAddress: (a: string) => a === '127.0.0.1', resolveHost: async () => ['127.0.0.1', '10.0.0.1'] };
      await assertRefused(`https://pinned.test:${target.port}/doc`, options, 'blocked_address');
      assert.equal(target.connections, 0);
    });
  });

  it('fetches over https from an allowed address, verifying the certificate', async () => {
    const server = await serve((_req, res) => res.setHeader('content-type', 'application/json').end('{"ok":true}'), { tls });
    const response = await guardedFetch(`${server.origin}/doc`, { ...limits, allowPrivateNetworks: true, ca: tls.cert, accept: 'application/json' });
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), '{"ok":true}');
    assert.equal(response.headers['content-type'], 'application/json');
    await assertRefused(`${server.origin}/doc`, { ...limits, allowPrivateNetworks: true }, 'connection_failed');
  });

  it('connects to the vetted address, never resolving the name again (no DNS rebinding)', async () => {
    const server = await serve((req, res) => res.end(req.headers.host), { tls });
    // `pinned.test` exists in no DNS: the request can only succeed if the socket uses the address vetted here.
    const response = await guardedFetch(`https://pinned.test:${server.port}/doc`, {
      ...limits,
      ca: tls.cert,
      isAllowedAddress: (a) => a === '127.0.0.1',
      resolveHost: async () => ['127.0.0.1'],
    });
    assert.equal(response.body.toString(), `pinned.test:${server.port}`);
  });

  describe('redirects', () => {
    let blocked: LocalServer;
    before(async () => {
      blocked = await serve((_req, res) => res.end('internal'), { host: '127.0.0.2' });
    });
    const onlyFirstHost = { ...limits, allowPrivateNetworks: true, isAllowedAddress: (a: string) => a === '127.0.0.1' };

    it('re-checks each redirect target: an allowed host cannot bounce the fetch to a blocked one', async () => {
      const first = await serve((_req, res) => res.writeHead(302, { location: `${blocked.origin}/admin` }).end());
      await assertRefused(`${first.origin}/doc`, onlyFirstHost, 'blocked_address');
      assert.equal(first.requests.length, 1);
      assert.equal(blocked.connections, 0, 'the blocked host saw nothing');
    });

    it('a trusted origin is reached on a private address over http, but its redirect elsewhere is vetted like any URL', async () => {
      const trustedOnly = { ...limits, isAllowedAddress: () => false };
      const own = await serve((req, res) => (req.url === '/doc' ? res.writeHead(302, { location: '/moved' }).end() : res.end('own')));
      assert.equal((await guardedFetch(`${own.origin}/doc`, { ...trustedOnly, trustedOrigins: [own.origin] })).body.toString(), 'own');
      const bouncing = await serve((_req, res) => res.writeHead(302, { location: `${blocked.origin}/admin` }).end());
      await assertRefused(`${bouncing.origin}/doc`, { ...trustedOnly, allowPrivateNetworks: true, trustedOrigins: [bouncing.origin] }, 'blocked_address');
      await assertRefused(`${bouncing.origin}/doc`, { ...trustedOnly, trustedOrigins: [bouncing.origin] }, 'bad_scheme');
      assert.equal(blocked.connections, 0, 'the host the trusted origin pointed at saw nothing');
    });

    it('follows a redirect to an allowed host', async () => {
      const final = await serve((_req, res) => res.end('final'));
      const first = await serve((_req, res) => res.writeHead(307, { location: `${final.origin}/there` }).end());
      const response = await guardedFetch(`${first.origin}/doc`, onlyFirstHost);
      assert.equal(response.body.toString(), 'final');
      assert.equal(response.url, `${final.origin}/there`);
    });

    it('refuses a redirect from https down to http', async () => {
      const plain = await serve((_req, res) => res.end('plain'));
      const first = await serve((_req, res) => res.writeHead(301, { location: `${plain.origin}/doc` }).end(), { tls });
      await assertRefused(`${first.origin}/doc`, { ...limits, ca: tls.cert, isAllowedAddress: () => true }, 'bad_scheme');
      assert.equal(plain.connections, 0);
    });

    it('stops after maxRedirects, and maxRedirects 0 follows none', async () => {
      const loop = await serve((_req, res) => res.writeHead(302, { location: '/again' }).end());
      await assertRefused(`${loop.origin}/doc`, { ...limits, allowPrivateNetworks: true, maxRedirects: 2 }, 'too_many_redirects');
      assert.equal(loop.requests.length, 3);
      const once = await serve((_req, res) => res.writeHead(302, { location: '/again' }).end());
      await assertRefused(`${once.origin}/doc`, { ...limits, allowPrivateNetworks: true, maxRedirects: 0 }, 'too_many_redirects');
      assert.equal(once.requests.length, 1);
    });
  });

  describe('requests with a method, headers and a body', () => {
    const local = { ...limits, allowPrivateNetworks: true };
    const echo = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.setHeader('content-type', 'application/json').end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'], extra: req.headers['x-extra'] })));
    };

    it('sends the method, the headers and the body', async () => {
      const server = await serve(echo);
      const response = await guardedFetch(`${server.origin}/token`, { ...local, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-extra': 'yes' }, body: 'a=1&b=2' });
      assert.deepEqual(JSON.parse(response.body.toString()), { method: 'POST', body: 'a=1&b=2', type: 'application/x-www-form-urlencoded', extra: 'yes' });
    });

    it('answers an error status with its body and headers when acceptAnyStatus is set', async () => {
      const server = await serve((_req, res) => res.writeHead(400, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_client"' }).end('{"error":"invalid_grant"}'));
      const response = await guardedFetch(`${server.origin}/token`, { ...local, method: 'POST', body: 'x=1', acceptAnyStatus: true });
      assert.equal(response.status, 400);
      assert.equal(response.body.toString(), '{"error":"invalid_grant"}');
      assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_client"');
    });

    it('answers a redirect unfollowed when redirect is manual', async () => {
      const final = await serve((_req, res) => res.end('final'));
      const first = await serve((_req, res) => res.writeHead(302, { location: `${final.origin}/there` }).end());
      const response = await guardedFetch(`${first.origin}/doc`, { ...local, redirect: 'manual' });
      assert.equal(response.status, 302);
      assert.equal(response.headers.location, `${final.origin}/there`);
      assert.equal(final.requests.length, 0);
    });

    it('continues a POST redirected by 303 as a GET without body, and keeps the body through a 307', async () => {
      const target = await serve(echo);
      const seeOther = await serve((_req, res) => res.writeHead(303, { location: `${target.origin}/after` }).end());
      const seen = await guardedFetch(`${seeOther.origin}/`, { ...local, method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'payload' });
      assert.deepEqual(JSON.parse(seen.body.toString()), { method: 'GET', body: '' });
      const temporary = await serve((_req, res) => res.writeHead(307, { location: `${target.origin}/after` }).end());
      const kept = await guardedFetch(`${temporary.origin}/`, { ...local, method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'payload' });
      assert.deepEqual(JSON.parse(kept.body.toString()), { method: 'POST', body: 'payload', type: 'text/plain' });
    });
  });

  describe('limits', () => {
    const local = { allowPrivateNetworks: true, timeoutMs: 3000 };

    it('refuses a body larger than maxBytes, declared or streamed', async () => {
      const big = Buffer.alloc(256 * 1024, 'a');
      const declared = await serve((_req, res) => res.setHeader('content-length', big.length).end(big));
      await assertRefused(`${declared.origin}/`, { ...local, maxBytes: 1024 }, 'too_large');
      const streamed = await serve((_req, res) => {
        for (let i = 0; i < 64; i++) res.write(big.subarray(0, 4096));
        res.end();
      });
      await assertRefused(`${streamed.origin}/`, { ...local, maxBytes: 1024 }, 'too_large');
    });

    it('accepts a body of exactly maxBytes', async () => {
      const server = await serve((_req, res) => res.end(Buffer.alloc(1024, 'b')));
      const response = await guardedFetch(`${server.origin}/`, { ...local, maxBytes: 1024 });
      assert.equal(response.body.length, 1024);
    });

    it('gives up when the server never answers, or stalls in the middle of the body', async () => {
      const silent = await serve(() => undefined);
      await assertRefused(`${silent.origin}/`, { allowPrivateNetworks: true, maxBytes: 1024, timeoutMs: 150 }, 'timeout');
      const stalling = await serve((_req, res) => res.writeHead(200).write('{"partial":'));
      await assertRefused(`${stalling.origin}/`, { allowPrivateNetworks: true, maxBytes: 1024, timeoutMs: 150 }, 'timeout');
    });

    it('reports a non-2xx answer as http_status with its code', async () => {
      const server = await serve((_req, res) => res.writeHead(404).end('nope'));
      const error = await assertRefused(`${server.origin}/`, { ...local, maxBytes: 1024 }, 'http_status');
      assert.equal(error.status, 404);
    });
  });
});
