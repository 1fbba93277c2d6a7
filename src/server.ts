import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { startBackgroundJobs } from './jobs.js';
import type { JobTable } from './ops/job-table.js';
import type { Config } from './config.js';
import { announceInitialAdminPassword, type PasswordAnnouncement } from './identity/initial-admin-password.js';
import { createServerLog, type ServerLog } from './log.js';
import { registerLogOutputMetrics } from './ops/metrics.js';
import { openRuntime, type Runtime } from './runtime.js';
import { gracefulShutdown, runCloseSteps, type CloseStep } from './shutdown.js';
import { setUpTracing, type Tracing } from './ops/tracing.js';
import { followFleetChanges } from './upstream/fleet-changes.js';

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  log: ServerLog;
  /** Where the socket actually listens (the real port when 0 was asked for). */
  address: string;
  /** What stopping does, in order; `stop()` runs it, `stopOnSignals` runs it under the shutdown deadline. */
  closeSteps: readonly CloseStep[];
  /** Runs the close steps; rejects when one of them failed (the later ones still ran). */
  stop(): Promise<void>;
}

function listenAddress(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * The close sequence of a running server, in order:
 * 1. Fastify stops listening, ends every MCP session (and so its open GET stream: the gateway's preClose hook),
 *    closes idle keep-alive connections, waits for the requests in flight, then runs the app's onClose hooks.
 * 2. Background jobs stop, after the last request and before what they use closes.
 * 3. Upstream connections close (shared and per-user; already begun by the app's onClose hook).
 * 4. The audit records still queued are written (audit/append-batcher.ts), then the database closes.
 * The log is flushed after these (`stopOnSignals`), so that the last lines say how stopping went.
 */
function closeSequence(app: FastifyInstance, runtime: Runtime, jobs: JobTable, tracing?: Tracing): CloseStep[] {
  return [
    { name: 'stop accepting and finish requests in flight', run: () => app.close() },
    // The job table (src/jobs.ts): a running job is asked to finish and waited for; no timer is left.
    { name: 'stop background jobs', run: () => jobs.stop() },
    { name: 'close upstream connections', run: () => Promise.all([runtime.upstreams.close(), runtime.perUserPool.close()]) },
    { name: 'write queued audit records', run: () => runtime.auditWrites.close() },
    { name: 'close the database', run: () => runtime.close() },
    ...(tracing?.exporting ? [{ name: 'export pending traces', run: () => tracing.shutdown() }] : []),
  ];
}

/** Opens the runtime, makes sure an admin exists, and serves the app on config.host:config.port. */
export async function startServer(
  config: Config,
  terminal: PasswordAnnouncement['terminal'] = process.stdout,
  tracing?: Tracing,
): Promise<RunningServer> {
  const runtime = await openRuntime(config);
  const log = createServerLog(config);
  let app: FastifyInstance | undefined;
  try {
    const admin = await runtime.users.ensureInitialAdmin(config.adminPassword);
    if (admin.generatedPassword) announceInitialAdminPassword(admin.generatedPassword, { terminal, dataDir: config.dataDir, log: log.logger });
    app = await buildApp(runtime, log.logger);
    registerLogOutputMetrics(app.metricsRegistry, log.output);
    const fleetLog = app.log;
    // Its subscriptions end when the runtime closes (the last close step, or below when starting fails).
    followFleetChanges(runtime.store.notifications, { registry: runtime.upstreams, outbound: runtime.outbound, toolPins: runtime.toolPins }, (error) =>
      fleetLog.warn({ err: error }, 'following a change made on another replica failed'),
    );
    // Listening only once the other replicas' announcements reach this one.
    await runtime.store.notifications.ready();
    await app.listen({ host: config.host, port: config.port });
    await app.allAddressesBound();
  } catch (error) {
    await app?.close().catch(() => undefined);
    await runtime.close().catch(() => undefined);
    throw error;
  }
  const started = app;
  const jobs = startBackgroundJobs(runtime, started);
  const address = listenAddress(started);
  const closeSteps = closeSequence(started, runtime, jobs, tracing);
  return {
    app: started,
    runtime,
    log,
    address,
    closeSteps,
    async stop() {
      if (!(await runCloseSteps(closeSteps, started.log))) throw new Error('a shutdown step failed (see the log)');
    },
  };
}

/**
 * `gatehouse serve`: starts, stops on signals, and only then says where it listens: supervisors and tests act on that
 * line, and a signal sent before the handlers exist would kill the process without the close sequence.
 */
export async function serve(config: Config): Promise<RunningServer> {
  // Process-wide, so here rather than in startServer: trace context always flows; spans export when OTEL_* say where.
  const server = await startServer(config, process.stdout, setUpTracing(process.env));
  stopOnSignals(server);
  server.app.log.info({ address: server.address, publicUrl: config.publicUrl }, `Gatehouse is listening on ${server.address}; public URL ${config.publicUrl}`);
  return server;
}

/**
 * SIGTERM or SIGINT: the close sequence and a log flush within config.shutdownTimeoutSeconds, then exit 0; a failed
 * step exits 1; at the deadline, or on a second signal, exit 1 at once with a line on stderr (shutdown.ts).
 */
export function stopOnSignals(server: RunningServer, exit: (code: number) => void = (code) => process.exit(code)): void {
  const onSignal = gracefulShutdown(server.closeSteps, server.runtime.config.shutdownTimeoutSeconds * 1000, {
    log: server.app.log,
    flushLogs: () => server.log.output.drained(),
    exit,
    // Never waits: on a pipe or socket Node queues what the reader has no room for, and exit drops it.
    tellOperator: (text) => process.stderr.write(text),
    startDeadline: (ms, expired) => {
      const timer = setTimeout(expired, ms);
      return () => clearTimeout(timer);
    },
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
