import { readFileSync } from 'node:fs';

/**
 * Sums the self time of a V8 `.cpuprofile` (as `BENCH_PROFILE=<dir>` writes) by function and by source file or
 * package, over the busiest window of the profile (by default the whole of it):
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--from <s>] [--to <s>] [--top <n>]
 *
 * `--from`/`--to` are seconds from the profile's start; the summary prints the sampled span so a window around
 * one timed run (the refresh run follows the bare one) can be picked.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** node_modules/<package> for dependencies, the path under the repository for our files, node: for Node's own. */
function moduleOf(url: string): string {
  if (url === '') return '(native / V8)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(src|bench|test)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

function printTop(title: string, totals: Map<string, number>, all: number, top: number): void {
  process.stdout.write(`\n${title}\n`);
  for (const [name, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((micros / all) * 100).toFixed(1).padStart(6)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
  }
}

const file = process.argv[2];
if (!file) throw new Error('usage: bench/profile-summary.ts <file.cpuprofile> [--from s] [--to s] [--top n]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const from = option('--from', 0) * 1e6;
const to = option('--to', Infinity) * 1e6;
const top = option('--top', 30);

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const byFunction = new Map<string, number>();
const byModule = new Map<string, number>();
const add = (totals: Map<string, number>, key: string, micros: number) => totals.set(key, (totals.get(key) ?? 0) + micros);

/** Busy (non-idle) share per second, to find the timed runs in the profile. */
const busyPerSecond: number[] = [];
let elapsed = 0;
let counted = 0;
for (let index = 0; index < profile.samples.length; index += 1) {
  elapsed += profile.timeDeltas[index] ?? 0;
  if (elapsed < from || elapsed > to) continue;
  // A sample's weight is the time until the next sample.
  const weight = profile.timeDeltas[index + 1] ?? 0;
  const { functionName, url, lineNumber } = nodes.get(profile.samples[index]!)!.callFrame;
  const second = Math.floor(elapsed / 1e6);
  if (functionName !== '(idle)') busyPerSecond[second] = (busyPerSecond[second] ?? 0) + weight;
  const where = url ? `${moduleOf(url)}:${lineNumber + 1}` : '';
  add(byFunction, `${functionName || '(anonymous)'} ${where}`.trim(), weight);
  add(byModule, moduleOf(url), weight);
  counted += weight;
}

const span = (profile.endTime - profile.startTime) / 1e6;
process.stdout.write(`${file}: ${span.toFixed(1)} s sampled; window ${(from / 1e6).toFixed(1)}–${Math.min(to / 1e6, span).toFixed(1)} s holds ${(counted / 1e6).toFixed(2)} s\n`);
process.stdout.write(`busy share per second from ${Math.floor(from / 1e6)} s: ${Array.from(busyPerSecond.slice(Math.floor(from / 1e6)), (micros) => Math.round((micros ?? 0) / 1e4)).join(' ')}\n`);
printTop('Self time by module', byModule, counted, top);
printTop('Self time by function', byFunction, counted, top);
