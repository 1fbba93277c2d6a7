// Bench-only (never part of Gatehouse): `node --expose-gc --import ./bench/heap-probe.mjs dist/cli.js serve …`.
// On SIGUSR2 the process collects its garbage and writes process.memoryUsage() as JSON to $BENCH_HEAP_FILE, so
// bench/sessions.ts reads the live heap without any endpoint or debugger in the server.
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.BENCH_HEAP_FILE;
if (file && typeof globalThis.gc === 'function') {
  let sample = 0;
  process.on('SIGUSR2', () => {
    // Several passes, a turn apart: weak maps and finalizers release more on the later ones.
    const passes = [0, 1, 2, 3];
    const collect = () => {
      globalThis.gc();
      if (passes.shift() !== undefined) setImmediate(collect);
      else {
        sample += 1;
        writeFileSync(`${file}.tmp`, JSON.stringify({ sample, ...process.memoryUsage() }));
        renameSync(`${file}.tmp`, file);
      }
    };
    collect();
  });
}
