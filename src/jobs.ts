import type { FastifyInstance } from 'fastify';
import { jobTable, type Job, type JobTable } from './ops/job-table.js';
import { retentionSweeper } from './ops/retention.js';
import { retentionMetrics } from './ops/retention-metrics.js';
import type { Runtime } from './runtime.js';
import { FLEET_RECONCILE_MS } from './upstream/fleet-changes.js';

/** How often connections whose upstream tokens are about to expire are refreshed, used or not. */
const TOKEN_KEEPER_INTERVAL_MS = 60_000;

/**
 * Every background job of a running server, in one list. Timers that belong to an object's own lifetime stay
 * with it: the MCP session idle sweep (gateway routes), the per-user pool's idle sweep, the upstream registry's
 * re-read of shared upstreams.
 */
export function backgroundJobs(runtime: Runtime, app: Pick<FastifyInstance, 'metricsRegistry'>): Job[] {
  const metrics = retentionMetrics(app.metricsRegistry);
  const retention = retentionSweeper({ store: runtime.store, config: runtime.config, clock: runtime.clock, onRule: metrics.rule });
  return [
    {
      name: 'retention',
      intervalMs: runtime.config.retention.sweepIntervalSeconds * 1000,
      async run(stopping) {
        if (await retention.sweep(undefined, stopping)) metrics.sweep(Date.now());
      },
    },
    { name: 'upstream-token-keeper', intervalMs: TOKEN_KEEPER_INTERVAL_MS, run: () => runtime.outbound.refreshDue() },
    // Other replicas announce their authorizations at once (upstream/fleet-changes.ts); this catches a missed one.
    { name: 'upstream-authorization-follower', intervalMs: FLEET_RECONCILE_MS, run: () => runtime.outbound.followAuthorizations() },
  ];
}

/** The server's jobs, started once it listens; `stop()` comes first when it closes. */
export function startBackgroundJobs(runtime: Runtime, app: FastifyInstance): JobTable {
  const table = jobTable(backgroundJobs(runtime, app), { onError: (job, error) => app.log.warn({ err: error, job }, `background job ${job} failed`) });
  table.start();
  return table;
}
