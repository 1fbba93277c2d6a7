import { Counter, Gauge, type Registry } from 'prom-client';
import { SHARED_SUBJECT, type OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import type { ManagedUpstreamRegistry, UpstreamStatusChange } from '../upstream/registry.js';
import type { UpstreamStatus } from '../upstream/types.js';

export interface ObserverLog {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface UpstreamObserverDeps {
  registry: Pick<ManagedUpstreamRegistry, 'all' | 'get' | 'observeStatus'>;
  outbound: Pick<OutboundOAuth, 'subscribe' | 'observeRefreshes'>;
  log: ObserverLog;
  metrics: Registry;
}

const STATES: readonly UpstreamStatus['state'][] = ['connecting', 'connected', 'error', 'needs_auth'];

/** A connection's state change as one log line, at the level an operator would want to be woken for. */
function logStatusChange(log: ObserverLog, { id, name, status, previous }: UpstreamStatusChange): void {
  const fields = { upstream: name, upstreamId: id, state: status.state, ...(previous ? { previous } : {}) };
  switch (status.state) {
    case 'connected':
      log.info(fields, `upstream ${name} connected`);
      return;
    case 'error':
      log.warn(
        { ...fields, reason: status.reason, ...(status.retryAt ? { retryAt: new Date(status.retryAt).toISOString() } : {}) },
        `upstream ${name} failed: ${status.reason}`,
      );
      return;
    case 'needs_auth':
      log.warn({ ...fields, reason: status.reason }, `upstream ${name} needs authorization: ${status.reason}`);
      return;
    case 'connecting':
      // A first attempt is routine; one after a loss or a failure is the reconnect an operator looks for.
      if (previous) log.info(fields, `upstream ${name} reconnecting`);
      else log.debug(fields, `upstream ${name} connecting`);
  }
}

/**
 * Upstream connections and outbound OAuth as operators see them: state changes, authorizations and token refreshes
 * in the log with the upstream's name, and as metrics (`gatehouse_upstream_state`, whose labels are the configured
 * upstreams only, and `gatehouse_upstream_token_refresh_total`). Returns what stops the observing.
 */
export function observeUpstreams({ registry, outbound, log, metrics }: UpstreamObserverDeps): () => void {
  const nameOf = (upstreamId: string) => registry.get(upstreamId)?.settings.name ?? upstreamId;
  const subjectOf = (subject: string) => (subject === SHARED_SUBJECT ? { connection: 'shared' } : { connection: 'per_user', userId: subject });

  new Gauge({
    name: 'gatehouse_upstream_state',
    help: 'Each upstream connection\'s state: 1 for the state it is in, 0 for the others.',
    labelNames: ['upstream', 'state'] as const,
    registers: [metrics],
    // Read at scrape time: removed upstreams vanish instead of keeping their last value.
    collect() {
      this.reset();
      for (const upstream of registry.all()) {
        const current = upstream.status().state;
        for (const state of STATES) this.set({ upstream: upstream.settings.name, state }, state === current ? 1 : 0);
      }
    },
  });
  const refreshes = new Counter({
    name: 'gatehouse_upstream_token_refresh_total',
    help: 'Token refreshes at upstream authorization servers: ok, refused (the connection needs authorization again) or failed (retried later).',
    labelNames: ['outcome'] as const,
    registers: [metrics],
  });

  const stops = [
    registry.observeStatus((change) => logStatusChange(log, change)),
    outbound.subscribe((event) => {
      const fields = { upstream: nameOf(event.upstreamId), upstreamId: event.upstreamId, ...subjectOf(event.subject) };
      if (event.kind === 'authorized') log.info(fields, `upstream ${fields.upstream} authorized`);
      else log.warn({ ...fields, reason: event.reason }, `upstream ${fields.upstream} lost its authorization: ${event.reason}`);
    }),
    outbound.observeRefreshes(({ upstreamId, subject, outcome }) => {
      refreshes.inc({ outcome });
      const fields = { upstream: nameOf(upstreamId), upstreamId, outcome, ...subjectOf(subject) };
      if (outcome === 'ok') log.debug(fields, `upstream ${fields.upstream}: token refreshed`);
      else log.warn(fields, `upstream ${fields.upstream}: token refresh ${outcome === 'refused' ? 'refused' : 'failed, will retry'}`);
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
