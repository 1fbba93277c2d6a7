import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../../src/ops/series-metrics.js';

const BUCKETS = [0.005, 0.01, 0.1, 1];
const OBSERVED = [0, 0.005, 0.0051, 0.01, 0.5, 1, 2, 1e9, 0.003];
const LABELS = [
  { method: 'POST', route: '/mcp' },
  { method: 'GET', route: 'a "quoted" \\ path\nwith a newline' },
];

/** The same counts into prom-client's own metrics and into the series ones, each in a registry of its own. */
function bothWays(): { theirs: Registry; ours: Registry; count(labels: (typeof LABELS)[number], times: number): void; observe(labels: (typeof LABELS)[number], value: number): void } {
  const theirs = new Registry();
  const ours = new Registry();
  const options = { labelNames: ['method', 'route'] as const };
  const counters = [
    new Counter({ name: 'x_requests_total', help: 'Requests.', ...options, registers: [theirs] }),
    new SeriesCounter({ name: 'x_requests_total', help: 'Requests.', ...options, registers: [ours] }),
  ];
  const histograms = [
    new Histogram({ name: 'x_duration_seconds', help: 'Duration.', buckets: BUCKETS, ...options, registers: [theirs] }),
    new SeriesHistogram({ name: 'x_duration_seconds', help: 'Duration.', buckets: BUCKETS, ...options, registers: [ours] }),
  ];
  return {
    theirs,
    ours,
    count: (labels, times) => {
      for (const counter of counters) {
        const series = counter.labels(labels);
        for (let index = 0; index < times; index += 1) series.inc();
      }
    },
    observe: (labels, value) => {
      for (const histogram of histograms) histogram.labels(labels).observe(value);
    },
  };
}

it('prints the same /metrics text as prom-client Counter and Histogram for the same counts, label escaping and bucket edges included', async () => {
  const { theirs, ours, count, observe } = bothWays();
  count(LABELS[0]!, 3);
  count(LABELS[1]!, 1);
  for (const value of OBSERVED) observe(LABELS[0]!, value);
  observe(LABELS[1]!, 0.05);
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /^x_duration_seconds_bucket\{le="0.01",method="POST",route="\/mcp"\} 5$/m);
  assert.match(text, /^x_requests_total\{method="POST",route="\/mcp"\} 3$/m);
});

it('counts from zero after a reset, as prom-client does, and a series taken before the reset still counts', async () => {
  const { theirs, ours, count, observe } = bothWays();
  count(LABELS[0]!, 2);
  observe(LABELS[0]!, 0.2);
  ours.resetMetrics();
  theirs.resetMetrics();
  count(LABELS[0]!, 1);
  observe(LABELS[0]!, 0.007);
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /^x_requests_total\{method="POST",route="\/mcp"\} 1$/m);
});

it('refuses a label it does not declare, a missing one, and a value that is not a number, as prom-client does', () => {
  const counter = new SeriesCounter({ name: 'y_total', help: 'Y.', labelNames: ['method'] as const, registers: [] });
  assert.throws(() => counter.labels({ method: 'GET', other: 'x' } as { method: string }));
  assert.throws(() => counter.labels({} as { method: string }));
  const histogram = new SeriesHistogram({ name: 'y_seconds', help: 'Y.', buckets: BUCKETS, labelNames: ['method'] as const, registers: [] });
  assert.throws(() => histogram.labels({ method: 'GET' }).observe(Number.NaN), TypeError);
});
