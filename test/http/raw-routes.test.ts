import assert from 'node:assert/strict';
import dns from 'node:dns';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { rawRoutes } from '../../src/http/raw-routes.js';

describe('the server made by the front door', () => {
  // This machine's `localhost` may name 127.0.0.1 alone: here it names ::1 too, as on most systems.
  const lookup = dns.lookup;
  before(() => {
    dns.lookup = ((host: string, options: unknown, callback?: unknown) => {
      if (host === 'localhost' && typeof options === 'object' && (options as { all?: boolean }).all) {
        return (callback as (error: null, addresses: dns.LookupAddress[]) => void)(null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
      }
      return (lookup as (...args: unknown[]) => void)(host, options, callback);
    }) as typeof dns.lookup;
  });
  after(() => {
    dns.lookup = lookup;
  });

  it('listening on localhost answers on each of its addresses, as Fastify does on servers it makes itself', async () => {
    const door = rawRoutes();
    door.mount((_method, path) => path === '/raw', (_request, response) => response.end('raw'));
    const app = Fastify({ serverFactory: door.serverFactory, forceCloseConnections: 'idle' });
    const allBound = door.bindLocalhostTwins(app, 'localhost');
    app.get('/routed', async () => 'routed');
    await app.listen({ host: 'localhost', port: 0 });
    await allBound();
    try {
      const { port } = app.server.address() as AddressInfo;
      for (const host of ['127.0.0.1', '[::1]']) {
        assert.equal(await (await fetch(`http://${host}:${port}/raw`)).text(), 'raw', `front door on ${host}`);
        assert.equal(await (await fetch(`http://${host}:${port}/routed`)).text(), 'routed', `Fastify on ${host}`);
      }
    } finally {
      await app.close();
    }
  });
});
