import type { Registry } from 'prom-client';

/**
 * A counter and a histogram for the hot paths (every /mcp request, every tool call): a labelled series is made once
 * and then counted in place. prom-client's own Counter and Histogram check, hash and look up the labels on every
 * `inc` and `observe`, even through a child from `labels()` (~1–2 µs each, four per `tools/call`; bench/README.md).
 * They hand the registry what prom-client's `get()` hands it, so /metrics prints them as it prints prom-client's
 * (test/ops/series-metrics.test.ts holds both to the same text). No exemplars, no timers, no removal of a series:
 * the callers' labels are bounded.
 */

interface SeriesMetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

type Labels<L extends string> = Record<L, string>;

/** One line of the registry's input, as prom-client's metrics give it. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

abstract class SeriesMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'histogram';
  private readonly series = new Map<string, { labels: Labels<L>; values: S }>();

  constructor(private readonly options: SeriesMetricOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    // The registry takes any object with prom-client's `name`, `type`, `get()` and `reset()`.
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series of `labels` (every label name given, as prom-client requires), made on first use. */
  protected seriesOf(labels: Labels<L>): S {
    const key = this.options.labelNames.map((name) => labels[name]).join('\u0000');
    let found = this.series.get(key);
    if (found === undefined) {
      const names: readonly string[] = this.options.labelNames;
      const unknown = Object.keys(labels).find((name) => !names.includes(name)) ?? names.find((name) => typeof labels[name as L] !== 'string');
      if (unknown !== undefined) throw new Error(`Label ${unknown} of ${this.name} is unknown or missing`);
      this.series.set(key, (found = { labels: { ...labels }, values: this.emptyValues() }));
    }
    return found.values;
  }

  protected abstract emptyValues(): S;
  protected abstract exported(labels: Labels<L>, values: S): MetricValue[];
  protected abstract zero(values: S): void;

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const values = [...this.series.values()].flatMap(({ labels, values: counted }) => this.exported(labels, counted));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's `reset`, but the series stay (callers hold them): each is counted from zero again. */
  reset(): void {
    for (const { values } of this.series.values()) this.zero(values);
  }
}

export class SeriesCounter<L extends string> extends SeriesMetric<L, { value: number }> {
  readonly type = 'counter';

  labels(labels: Labels<L>): { inc(): void } {
    const counted = this.seriesOf(labels);
    return {
      inc() {
        counted.value += 1;
      },
    };
  }

  protected emptyValues() {
    return { value: 0 };
  }

  protected exported(labels: Labels<L>, counted: { value: number }): MetricValue[] {
    return [{ value: counted.value, labels: { ...labels } }];
  }

  protected zero(counted: { value: number }): void {
    counted.value = 0;
  }
}

interface Observed {
  /** Observations per bucket (not cumulative), by the index of its upper bound. */
  buckets: number[];
  sum: number;
  count: number;
}

export class SeriesHistogram<L extends string> extends SeriesMetric<L, Observed> {
  readonly type = 'histogram';
  private readonly upperBounds: readonly number[];

  constructor(options: SeriesMetricOptions<L> & { buckets: readonly number[] }) {
    super(options);
    this.upperBounds = [...options.buckets].sort((a, b) => a - b);
  }

  labels(labels: Labels<L>): { observe(value: number): void } {
    const observed = this.seriesOf(labels);
    const bounds = this.upperBounds;
    return {
      observe(value) {
        if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
        const at = bounds.findIndex((bound) => value <= bound);
        if (at >= 0) observed.buckets[at]! += 1;
        observed.sum += value;
        observed.count += 1;
      },
    };
  }

  protected emptyValues(): Observed {
    return { buckets: this.upperBounds.map(() => 0), sum: 0, count: 0 };
  }

  protected exported(labels: Labels<L>, observed: Observed): MetricValue[] {
    const bucket = `${this.name}_bucket`;
    let below = 0;
    return [
      ...this.upperBounds.map((bound, index) => ({ value: (below += observed.buckets[index]!), labels: { le: bound, ...labels }, metricName: bucket })),
      { value: observed.count, labels: { le: '+Inf', ...labels }, metricName: bucket },
      { value: observed.sum, labels: { ...labels }, metricName: `${this.name}_sum` },
      { value: observed.count, labels: { ...labels }, metricName: `${this.name}_count` },
    ];
  }

  protected zero(observed: Observed): void {
    observed.buckets.fill(0);
    observed.sum = 0;
    observed.count = 0;
  }
}
