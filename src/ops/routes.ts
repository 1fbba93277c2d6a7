import type { FastifyPluginAsync } from 'fastify';
import type { Database } from '../store/index.js';
import { VERSION } from '../version.js';
import { secretsEqual } from '../crypto/keyed-hash.js';
import { bearerToken } from '../http/authorization-header.js';

export interface OpsOptions {
  database: Pick<Database, 'ping'>;
  /** How long `/ready` waits for the database before calling it unavailable. */
  readyTimeoutMs?: number;
  /** When set, `/metrics` answers only `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
}

const DEFAULT_READY_TIMEOUT_MS = 2000;

class PingTimeout extends Error {}

/** Resolves when the database answers, rejects with PingTimeout when it does not answer in time. */
async function pingWithin(database: OpsOptions['database'], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PingTimeout()), timeoutMs);
  });
  try {
    await Promise.race([database.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness, readiness and the Prometheus scrape; none of them needs credentials. */
export const opsRoutes: FastifyPluginAsync<OpsOptions> = async (app, options) => {
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  // Liveness: answering at all is the signal, so no database call here.
  app.get('/health', async () => ({ status: 'ok', version: VERSION }));

  app.get('/ready', async (request, reply) => {
    try {
      await pingWithin(options.database, readyTimeoutMs);
      return { status: 'ready' };
    } catch (error) {
      // The driver's message may name hosts or users: it goes to the log, the answer says only what failed.
      const reason = error instanceof PingTimeout ? `database did not answer within ${readyTimeoutMs} ms` : 'database unreachable';
      request.log.warn({ err: error }, `not ready: ${reason}`);
      return reply.code(503).send({ status: 'unavailable', reason });
    }
  });

  app.get('/metrics', async (request, reply) => {
    const presented = bearerToken(request.headers.authorization);
    if (options.metricsToken !== undefined && (presented === undefined || !secretsEqual(presented, options.metricsToken))) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="gatehouse-metrics"').send({ error: 'unauthorized', error_description: 'the metrics need Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>' });
    }
    const registry = app.metricsRegistry;
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
};
