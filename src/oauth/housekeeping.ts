import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/**
 * Deletes pending authorization flows past their TTL, Gatehouse's own and those it started at upstreams;
 * abandoned sign-ins would otherwise pile up.
 */
export async function sweepExpiredFlows(runtime: Pick<Runtime, 'store'>, now: number = Date.now()): Promise<number> {
  return (await runtime.store.flows.deleteExpired(now)) + (await runtime.store.upstreamOAuthFlows.deleteExpired(now));
}

/**
 * Deletes metadata-document clients nobody has used for `oauth.metadataDocumentClientRetentionSeconds` and that hold
 * no live grant: anyone can create one by naming a new https client_id, so they must not pile up. One used again
 * later is simply fetched again (and counted as a new registration).
 */
export async function sweepUnusedMetadataDocumentClients(
  runtime: { store: Pick<Runtime['store'], 'clients'>; config: { oauth: Pick<Runtime['config']['oauth'], 'metadataDocumentClientRetentionSeconds'> } },
  now: number = Date.now(),
): Promise<number> {
  const fetchedBefore = now - runtime.config.oauth.metadataDocumentClientRetentionSeconds * 1000;
  return runtime.store.clients.deleteUnusedMetadataDocumentClients(fetchedBefore, now);
}

/** Runs the sweeps every few minutes while the app is up; the timer never keeps the process alive. */
export function scheduleHousekeeping(app: FastifyInstance, runtime: Runtime): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      sweepExpiredFlows(runtime).catch((error: unknown) => app.log.warn({ err: error }, 'sweeping expired flows failed'));
      sweepUnusedMetadataDocumentClients(runtime).catch((error: unknown) => app.log.warn({ err: error }, 'sweeping unused metadata-document clients failed'));
    }, SWEEP_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
