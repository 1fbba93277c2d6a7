import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp } from '../test/helpers/app.js';
import { BENCH_ADMIN_PASSWORD } from './servers.js';
import { openSession } from './mcp-http.js';

/**
 * /mcp's front door against the same app's Fastify routes, in one process: one app (SQLite, the demo upstream in
 * process), its own server (the front door takes /mcp) and a second server on Fastify's router (`app.routing`, where
 * /mcp runs the same steps behind Fastify), the same API key's session on each; blocks of `tools/call` in ABBA order.
 * Prints the CPU per call of this whole process (client and server): the two differ only by the way in.
 * `ROUNDS` (8) rounds of four blocks of 1,000 calls. `node --import tsx bench/front-door-ab.ts`
 */

const t = await startTestApp({ listen: true, env: { GATEHOUSE_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD } });
const viaFastify = createServer(t.app.routing);
await new Promise<void>((resolve) => viaFastify.listen(0, '127.0.0.1', resolve));
const admin = await t.runtime.store.users.findByUsername('admin');
const { token } = await t.runtime.apiKeys.create({ user: admin!, name: 'ab' });
const urls = { frontDoor: `${t.url}/mcp`, fastify: `http://127.0.0.1:${(viaFastify.address() as AddressInfo).port}/mcp` };
const sessions = { frontDoor: await openSession(urls.frontDoor, { authorization: `Bearer ${token}` }), fastify: await openSession(urls.fastify, { authorization: `Bearer ${token}` }) };
let id = 1;
const call = (which: keyof typeof urls) => fetch(urls[which], { method: 'POST', headers: sessions[which], body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'demo_echo', arguments: { text: 'x' } } }) }).then((r) => r.text());
for (const which of ['frontDoor', 'fastify'] as const) for (let i = 0; i < 1000; i++) await call(which);
const total = { frontDoor: 0, fastify: 0 };
const N = 1000;
const rounds = Number(process.env.ROUNDS ?? 8);
for (let round = 0; round < rounds; round++) {
  for (const which of (round % 2 === 0 ? ['frontDoor', 'fastify', 'fastify', 'frontDoor'] : ['fastify', 'frontDoor', 'frontDoor', 'fastify']) as Array<keyof typeof urls>) {
    const before = process.cpuUsage();
    for (let i = 0; i < N; i++) await call(which);
    const used = process.cpuUsage(before);
    total[which] += (used.user + used.system) / N / (2 * rounds);
  }
}
console.log(`µs per call (client and server in one process): front door ${total.frontDoor.toFixed(1)}, through Fastify ${total.fastify.toFixed(1)}`);
viaFastify.close();
await t.close();
