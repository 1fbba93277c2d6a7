// Bench-only (never part of Gatehouse): `node --import ./bench/allocation-probe.mjs dist/cli.js serve …`.
// V8's sampling heap profiler, told to keep the samples of objects that minor and major collections freed, so the
// profile counts every byte allocated (not only what lives at the end). The first SIGUSR2 starts sampling (after
// warm-up); the second writes the profile to $BENCH_ALLOCATION_FILE.
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.BENCH_ALLOCATION_FILE;
if (file) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  let sampling = false;
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true;
      void post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.BENCH_ALLOCATION_SURVIVORS !== 'on' });
      return;
    }
    sampling = false;
    void post('HeapProfiler.stopSampling').then(({ profile }) => {
      writeFileSync(`${file}.tmp`, JSON.stringify(profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}

// $BENCH_GC_FILE: between the two SIGUSR2, the collections by kind (count, ms) and the old space's growth.
const gcFile = process.env.BENCH_GC_FILE;
if (gcFile) {
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  const v8 = await import('node:v8');
  const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
  let totals;
  const observer = new PerformanceObserver((list) => {
    if (!totals) return;
    for (const entry of list.getEntries()) {
      const kind = kinds[entry.detail?.kind ?? entry.kind] ?? 'other';
      totals[kind] ??= { count: 0, ms: 0 };
      totals[kind].count += 1;
      totals[kind].ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const spaces = () => Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, Math.round(space.space_used_size / 1024)]));
  let before;
  process.on('SIGUSR2', () => {
    if (!totals) {
      totals = {};
      before = spaces();
      return;
    }
    const result = { totals, before, after: spaces(), heap: v8.getHeapStatistics() };
    totals = undefined;
    setTimeout(() => {
      writeFileSync(`${gcFile}.tmp`, JSON.stringify(result));
      renameSync(`${gcFile}.tmp`, gcFile);
    }, 100);
  });
}
