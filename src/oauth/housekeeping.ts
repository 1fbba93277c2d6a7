import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/**
 * Deletes pending authorization flows past their TTL, Gatehouse's own and those it started at upstreams;
 * abandoned sign-ins would otherwise pile up.
 */
export async function sweepExpiredFlows(runtime: Pick<Runtime, 'store'>, now: number = Date.now()): Promise<number> {
  return (await runtime.store.flows.deleteExpired(now)) + (await runtime.store.upstreamOAuthFlows.deleteExpired(now)) + (await runtime.store.ssoSignIns.deleteExpired(now));
}

/** Runs the sweep every few minutes while the app is up; the timer never keeps the process alive. */
export function scheduleHousekeeping(app: FastifyInstance, runtime: Runtime): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      sweepExpiredFlows(runtime).catch((error: unknown) => app.log.warn({ err: error }, 'sweeping expired flows failed'));
    }, SWEEP_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
