import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp } from '../test/helpers/app.js';
import { mintRefreshTokens, prepareClient, refreshBody } from './oauth-fixtures.js';
import { BENCH_ADMIN_PASSWORD } from './servers.js';

/**
 * POST /oauth/token's front door against the same app's Fastify route, in one process: one app (SQLite), its own
 * server (the front door takes form posts to /oauth/token) and a second server on Fastify's router (`app.routing`,
 * where the same steps run behind Fastify's hooks); refresh chains on each, in blocks in ABBA order. Prints the CPU
 * per refresh of this whole process (client, server, and the signing threadpool) and of its main thread (Linux): the
 * two differ only by the way in.
 * `ROUNDS` (6) rounds of four blocks of `BLOCK` (2,000) refreshes, `CHAINS` (16) at a time.
 * `node --import tsx bench/token-front-door-ab.ts`
 */
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const BLOCK = Number(process.env.BLOCK ?? 2000);
const CHAINS = Number(process.env.CHAINS ?? 16);

const t = await startTestApp({ listen: true, env: { GATEHOUSE_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD } });
const viaFastify = createServer(t.app.routing);
viaFastify.keepAliveTimeout = t.app.server.keepAliveTimeout;
await new Promise<void>((resolve) => viaFastify.listen(0, '127.0.0.1', resolve));
const client = await prepareClient(t.url!);
const ports = { frontDoor: Number(new URL(t.url!).port), fastify: (viaFastify.address() as AddressInfo).port };
const agent = new Agent({ keepAlive: true, maxSockets: CHAINS });
const chains = await mintRefreshTokens(client, CHAINS);

const refresh = (port: number, token: string) =>
  new Promise<string>((resolve, reject) => {
    const body = refreshBody(client, token);
    const outgoing = request({ port, host: '127.0.0.1', path: '/oauth/token', method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => {
        if (incoming.statusCode !== 200) return reject(new Error(`${incoming.statusCode}: ${text}`));
        resolve((JSON.parse(text) as { refresh_token: string }).refresh_token);
      });
    });
    outgoing.on('error', reject).end(body);
  });

const block = async (port: number, count: number) => {
  let left = count;
  await Promise.all(chains.map(async (_token, chain) => {
    while (left-- > 0) chains[chain] = await refresh(port, chains[chain]!);
  }));
};

for (const which of ['frontDoor', 'fastify'] as const) await block(ports[which], BLOCK);
/** This process's main thread's CPU time, µs (clock ticks of 10 ms: blocks are long enough). */
const mainThreadCpuUs = () => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const total = { frontDoor: 0, fastify: 0 };
const mainThread = { frontDoor: 0, fastify: 0 };
for (let round = 0; round < ROUNDS; round++) {
  for (const which of (round % 2 === 0 ? ['frontDoor', 'fastify', 'fastify', 'frontDoor'] : ['fastify', 'frontDoor', 'frontDoor', 'fastify']) as Array<keyof typeof ports>) {
    const before = process.cpuUsage();
    const mainBefore = mainThreadCpuUs();
    await block(ports[which], BLOCK);
    const used = process.cpuUsage(before);
    total[which] += (used.user + used.system) / BLOCK / (2 * ROUNDS);
    mainThread[which] += (mainThreadCpuUs() - mainBefore) / BLOCK / (2 * ROUNDS);
  }
}
console.log(`µs per refresh (client and server in one process): front door ${total.frontDoor.toFixed(1)}, through Fastify ${total.fastify.toFixed(1)}`);
console.log(`  of it on the main thread: front door ${mainThread.frontDoor.toFixed(1)}, through Fastify ${mainThread.fastify.toFixed(1)}`);
agent.destroy();
viaFastify.close();
await t.close();
