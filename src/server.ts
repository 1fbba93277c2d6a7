import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { startBackgroundJobs } from './jobs.js';
import type { Config } from './config.js';
import { announceInitialAdminPassword, type PasswordAnnouncement } from './identity/initial-admin-password.js';
import { createLogger } from './log.js';
import { openRuntime, type Runtime } from './runtime.js';
import { followFleetChanges } from './upstream/fleet-changes.js';

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** Where the socket actually listens (the real port when 0 was asked for). */
  address: string;
  /** Stops the background jobs, stops accepting, lets requests in flight finish, then closes the database. */
  stop(): Promise<void>;
}

function listenAddress(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Opens the runtime, makes sure an admin exists, and serves the app on config.host:config.port. */
export async function startServer(config: Config, terminal: PasswordAnnouncement['terminal'] = process.stdout): Promise<RunningServer> {
  const runtime = await openRuntime(config);
  let app: FastifyInstance | undefined;
  let stopFollowing = () => {};
  try {
    const log = createLogger(config);
    const admin = await runtime.users.ensureInitialAdmin(config.adminPassword);
    if (admin.generatedPassword) announceInitialAdminPassword(admin.generatedPassword, { terminal, dataDir: config.dataDir, log });
    app = await buildApp(runtime, log);
    const fleetLog = app.log;
    stopFollowing = followFleetChanges(runtime.store.notifications, runtime.upstreams, runtime.outbound, (error) =>
      fleetLog.warn({ err: error }, 'following a change made on another replica failed'),
    );
    // Listening only once the other replicas' announcements reach this one.
    await runtime.store.notifications.ready();
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    stopFollowing();
    await app?.close().catch(() => undefined);
    await runtime.close().catch(() => undefined);
    throw error;
  }
  const started = app;
  const jobs = startBackgroundJobs(runtime, started);
  const address = listenAddress(started);
  started.log.info({ address, publicUrl: config.publicUrl }, `Gatehouse is listening on ${address}; public URL ${config.publicUrl}`);
  return {
    app: started,
    runtime,
    address,
    async stop() {
      stopFollowing();
      await jobs.stop();
      await started.close();
      await runtime.close();
    },
  };
}

const FORCED_EXIT_AFTER_MS = 10_000;

/**
 * SIGTERM or SIGINT: finish in-flight requests, close the database, exit 0. A second signal, a failure
 * while stopping, or 10 seconds without finishing exits 1 at once.
 */
export function stopOnSignals(server: RunningServer, exit: (code: number) => void = (code) => process.exit(code)): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const log = server.app.log;
    if (stopping) {
      log.warn({ signal }, 'second signal while shutting down: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const timer = setTimeout(() => {
      log.error(`shutdown did not finish within ${FORCED_EXIT_AFTER_MS / 1000} s: exiting now`);
      exit(1);
    }, FORCED_EXIT_AFTER_MS);
    timer.unref();
    server.stop().then(
      () => {
        log.info('shut down cleanly');
        exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
