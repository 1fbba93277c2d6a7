import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { freshPostgresSchema } from '../test/helpers/backends.js';
import { createApiKey, openSession, rpcResult } from './mcp-http.js';
import { startGatehouse, type BenchServer } from './servers.js';

/**
 * What serving an MCP session costs on a replica that did not open it: two `gatehouse serve` on one PostgreSQL
 * schema with one key. The first request of a session at the other replica (which rebuilds it from the store)
 * against the first request at the replica that opened it; then requests in steady state on a session each holds.
 * `tools/list` with no upstream configured: what is measured is the session, not an upstream. Prints numbers.
 */
const FIRST_REQUESTS = Number(process.env.BENCH_FIRST ?? 80);
const STEADY_REQUESTS = Number(process.env.BENCH_STEADY ?? 1000);

let nextId = 1;
const toolsList = () => JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/list' });

/** One tools/list on the session at `url`, timed in ms. */
async function timedList(url: string, session: Record<string, string>): Promise<number> {
  const started = performance.now();
  const { result, error } = await rpcResult(await fetch(url, { method: 'POST', headers: session, body: toolsList() }));
  const elapsed = performance.now() - started;
  if (!result) throw new Error(`tools/list failed: ${JSON.stringify(error)}`);
  return elapsed;
}

async function endSession(url: string, session: Record<string, string>): Promise<void> {
  await (await fetch(url, { method: 'DELETE', headers: session })).arrayBuffer();
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `| ${name} | ${samples.length} | ${at(0.5)} | ${at(0.95)} | ${at(0.99)} |`;
}

async function main(): Promise<void> {
  const schema = await freshPostgresSchema();
  process.env.GATEHOUSE_SECRET_KEY = randomBytes(32).toString('hex');
  const args = ['--database-url', schema.url];
  const replicas: BenchServer[] = [];
  try {
    replicas.push(await startGatehouse(args));
    replicas.push(await startGatehouse(args));
    const [a, b] = replicas.map((replica) => `${replica.url}/mcp`) as [string, string];
    const bearer = { authorization: `Bearer ${await createApiKey(replicas[0]!)}` };

    // Warm both processes' paths first, unmeasured.
    for (let i = 0; i < 50; i++) {
      const session = await openSession(a, bearer);
      await timedList(b, session);
      await timedList(a, session);
      await endSession(a, session);
    }

    const firstHere: number[] = [];
    const firstElsewhere: number[] = [];
    for (let i = 0; i < FIRST_REQUESTS; i++) {
      const held = await openSession(a, bearer);
      const other = await openSession(a, bearer);
      firstHere.push(await timedList(a, held));
      firstElsewhere.push(await timedList(b, other));
      await endSession(a, held);
      await endSession(a, other);
    }

    const session = await openSession(a, bearer);
    await timedList(b, session);
    const steadyHere: number[] = [];
    const steadyElsewhere: number[] = [];
    for (let i = 0; i < STEADY_REQUESTS; i++) {
      steadyHere.push(await timedList(a, session));
      steadyElsewhere.push(await timedList(b, session));
    }

    process.stdout.write(
      [
        '| tools/list of a session | requests | median ms | p95 ms | p99 ms |',
        '|---|---|---|---|---|',
        summary('first request, at the replica that opened it', firstHere),
        summary('first request, at another replica (rebuilt from the store)', firstElsewhere),
        summary('steady state, at the replica that opened it', steadyHere),
        summary('steady state, at another replica (its rebuilt copy)', steadyElsewhere),
      ].join('\n') + '\n',
    );
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await schema.drop();
  }
}

await main();
