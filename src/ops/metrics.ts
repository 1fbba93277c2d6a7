import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from './series-metrics.js';
import { AUDIT_STREAMS, type AuditStream, type BatchedAuditStores } from '../audit/batched-audit-stores.js';
import type { Database } from '../store/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; served by `GET /metrics`. */
    metricsRegistry: Registry;
    /** Counts and times one response; for handlers that answer outside Fastify's hooks (http/raw-routes.ts). */
    observeHttpRequest: HttpRequestObserver;
  }
}

/** One answered request: its method, route template, status code and duration. */
export type HttpRequestObserver = (method: string, route: string, statusCode: number, seconds: number) => void;

export interface MetricsOptions {
  database: Pick<Database, 'poolStats'>;
}

/** Requests that matched no route share one label, so probing random paths cannot grow the series count. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The labelled series of a metric, made once per three label values and kept: prom-client checks and hashes the
 * labels on every `inc` or `observe` otherwise, a cost on the hot paths (bench/README.md). Found through a map per
 * label, so a lookup builds no key string and no closure. The caller's labels must be bounded.
 */
export function labelledSeries<A, B, C, S>(make: (a: A, b: B, c: C) => S): (a: A, b: B, c: C) => S {
  const series = new Map<A, Map<B, Map<C, S>>>();
  return (a, b, c) => {
    let byB = series.get(a);
    if (byB === undefined) series.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (byC === undefined) byB.set(b, (byC = new Map()));
    let found = byC.get(c);
    if (found === undefined) byC.set(c, (found = make(a, b, c)));
    return found;
  };
}

/** One registry per app, not prom-client's global one: tests build many apps in one process. */
export function createMetricsRegistry(database: MetricsOptions['database']): {
  registry: Registry;
  observe: HttpRequestObserver;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Counted on every request: series counted in place (series-metrics.ts), not prom-client's per-call label work.
  const requests = new SeriesCounter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const duration = new SeriesHistogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'gatehouse_db_pool_connections',
    help: 'Database pool connections by state: total, idle, and requests waiting for one.',
    labelNames: ['state'] as const,
    registers: [registry],
    // Read at scrape time, so the numbers are current rather than sampled.
    collect() {
      const stats = database.poolStats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });

  // Bounded: routes are templates (unmatched requests share one label) and methods and statuses are few.
  const seriesOf = labelledSeries((method: string, route: string, statusCode: number) => ({
    requests: requests.labels({ method, route, status_code: String(statusCode) }),
    duration: duration.labels({ method, route }),
  }));
  return {
    registry,
    observe(method, route, statusCode, seconds) {
      const series = seriesOf(method, route, statusCode);
      series.requests.inc();
      series.duration.observe(seconds);
    },
  };
}

/**
 * The server's log output (log-output.ts): lines dropped because stdout did not drain, and what waits for it. Read
 * at scrape time from the output's own counts, so logging a line costs no metric update.
 */
export function registerLogOutputMetrics(registry: Registry, output: { readonly droppedLines: number; readonly bufferedChars: number }): void {
  let counted = 0;
  new Counter({
    name: 'gatehouse_log_lines_dropped_total',
    help: 'Log lines dropped because the log reader (stdout) did not keep up and the bounded buffer was full.',
    registers: [registry],
    collect() {
      this.inc(output.droppedLines - counted);
      counted = output.droppedLines;
    },
  });
  new Gauge({
    name: 'gatehouse_log_buffered_chars',
    help: 'Log output accepted but not yet taken by the log reader (stdout), in characters.',
    registers: [registry],
    collect() {
      this.set(output.bufferedChars);
    },
  });
}

/** Audit rows lost because their batch could not be written (audit/append-batcher.ts), read at scrape time. */
export function registerAuditWriteMetrics(registry: Registry, writes: Pick<BatchedAuditStores, 'failedRows'>): void {
  const counted: Record<AuditStream, number> = { tool_calls: 0, audit_events: 0 };
  new Counter({
    name: 'gatehouse_audit_write_failures_total',
    help: 'Audit rows (tool calls, security events) whose batched write failed; each failure is also logged.',
    labelNames: ['stream'],
    registers: [registry],
    collect() {
      for (const stream of AUDIT_STREAMS) {
        this.inc({ stream }, writes.failedRows[stream] - counted[stream]);
        counted[stream] = writes.failedRows[stream];
      }
    },
  });
}

/**
 * The app's registry, where a surface registers its own metrics; a surface mounted alone (in a test) gets a
 * registry of its own, so it never depends on the order plugins were registered in.
 */
export function registryOf(app: FastifyInstance): Registry {
  return app.hasDecorator('metricsRegistry') ? app.metricsRegistry : new Registry();
}

/** The app's request observer; a surface mounted alone (in a test) counts nothing. */
export function httpObserverOf(app: FastifyInstance): HttpRequestObserver {
  return app.hasDecorator('observeHttpRequest') ? app.observeHttpRequest : () => undefined;
}

/** Counts and times every response of the app; the registry is decorated onto the app for `GET /metrics`. */
export const metricsPlugin: FastifyPluginAsync<MetricsOptions> = async (app, options) => {
  const metrics = createMetricsRegistry(options.database);
  app.decorate('metricsRegistry', metrics.registry);
  app.decorate('observeHttpRequest', metrics.observe);
  app.addHook('onResponse', async (request, reply) =>
    metrics.observe(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000),
  );
};

// Not encapsulated (what fastify-plugin does): the hook must see every route, the decoration every sibling plugin.
(metricsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
