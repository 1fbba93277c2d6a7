import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { gatewayRoutes } from './gateway-backends.js';
import { startChild, startGatehouse } from './servers.js';

/**
 * Where the gateway's `tools/call` allocates: the gateway runs under bench/allocation-probe.mjs (V8's sampling heap
 * profiler, keeping the samples of collected objects) while autocannon calls the echo tool with an OAuth token, then
 * the bytes allocated per call are summed by function and by file. Prints numbers; asserts nothing.
 */
const SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const TOP = Number(process.env.BENCH_TOP ?? 40);

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[]; id: number }
interface Profile { head: ProfileNode; samples: Array<{ size: number; nodeId: number }> }

function summarize(profile: Profile, calls: number): void {
  const nodes = new Map<number, { node: ProfileNode; parents: ProfileNode[] }>();
  const walk = (node: ProfileNode, parents: ProfileNode[]) => {
    nodes.set(node.id, { node, parents });
    for (const child of node.children) walk(child, [...parents, node]);
  };
  walk(profile.head, []);
  const bySelf = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byFirstOwn = new Map<string, number>();
  let total = 0;
  const frame = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
  for (const sample of profile.samples) {
    const entry = nodes.get(sample.nodeId);
    if (!entry) continue;
    total += sample.size;
    const key = frame(entry.node);
    bySelf.set(key, (bySelf.get(key) ?? 0) + sample.size);
    const file = entry.node.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/') || '(native)';
    byFile.set(file, (byFile.get(file) ?? 0) + sample.size);
    // The nearest Gatehouse frame on the stack: which of our code causes the allocation, wherever it happens.
    const own = [entry.node, ...[...entry.parents].reverse()].find((node) => node.callFrame.url.includes('/dist/'));
    const ownKey = own ? frame(own) : '(no gatehouse frame)';
    byFirstOwn.set(ownKey, (byFirstOwn.get(ownKey) ?? 0) + sample.size);
  }
  const print = (title: string, map: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP)) process.stdout.write(`${(bytes / calls).toFixed(0).padStart(8)} B/call  ${key}\n`);
  };
  process.stdout.write(`${calls} calls, ${(total / calls / 1024).toFixed(1)} KiB allocated per call\n`);
  print('By allocating function:', bySelf);
  print('By file:', byFile);
  print('By the nearest Gatehouse frame:', byFirstOwn);
}

const upstream = await startChild(fileURLToPath(new URL('./gateway.ts', import.meta.url)), ['upstream'], '/mcp');
const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-alloc-'));
const configFile = path.join(dir, 'gatehouse.json');
const profileFile = path.join(dir, 'profile.json');
writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'bench', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
const gatehouse = await startGatehouse(['--config', configFile, '--allow-private-networks'], {
  nodeArgs: ['--import', fileURLToPath(new URL('./allocation-probe.mjs', import.meta.url))],
  env: process.env.BENCH_GC === 'on' ? { BENCH_GC_FILE: profileFile } : { BENCH_ALLOCATION_FILE: profileFile },
});
try {
  const routes = await gatewayRoutes([{ backend: 'SQLite', gatehouse }]);
  const credential = process.env.BENCH_CREDENTIAL ?? 'OAuth token';
  const route = routes.find((candidate) => candidate.credential === credential)!;
  let tool = '';
  for (let attempt = 0; attempt < 100 && !tool; attempt += 1) {
    const answer = await fetch(route.url, { method: 'POST', headers: { ...route.session, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    const text = await answer.text();
    tool = /"name":"([^"]*echo)"/.exec(text)?.[1] ?? '';
    if (!tool) await sleep(100);
  }
  let id = 1;
  const load = (seconds: number) => autocannon({
    url: new URL(route.url).origin, connections: 32, duration: seconds,
    requests: [{ method: 'POST', path: '/mcp', headers: route.session, setupRequest: (request) => ({ ...request, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: tool, arguments: { text: 'hello through the gateway' } } }) }) }],
  });
  await load(3);
  process.kill(gatehouse.pid!, 'SIGUSR2');
  await sleep(200);
  const result = await load(SECONDS);
  process.kill(gatehouse.pid!, 'SIGUSR2');
  while (!existsSync(profileFile)) await sleep(100);
  if (process.env.BENCH_GC === 'on') {
    const gc = JSON.parse(readFileSync(profileFile, 'utf8'));
    console.log(result.requests.total, 'calls', JSON.stringify(gc.totals), '\nper call µs:', Object.entries(gc.totals as Record<string, { ms: number; count: number }>).map(([kind, { ms, count }]) => `${kind} ${((ms * 1000) / result.requests.total).toFixed(1)} (every ${(result.requests.total / count).toFixed(0)} calls)`).join(', '));
    console.log('before', JSON.stringify(gc.before), '\nafter ', JSON.stringify(gc.after));
  } else summarize(JSON.parse(readFileSync(profileFile, 'utf8')) as Profile, result.requests.total);
} finally {
  await Promise.all([upstream.stop(), gatehouse.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
