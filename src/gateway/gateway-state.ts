import { Registry } from 'prom-client';
import type { Runtime } from '../runtime.js';
import type { UpstreamRegistry } from '../upstream/types.js';
import { createCatalog, type Catalog } from './catalog.js';
import type { PersonalConnections } from './personal-connections.js';
import { sessionEvents, type GatewayLogger, type SessionEvents } from './session-events.js';
import { toolCallAudit, type ToolCallAudit } from './tool-call-audit.js';
import { withToolCallMetrics, type ToolCallLogger } from './tool-call-metrics.js';

/**
 * What every MCP session of one gateway shares, built once where the gateway is wired (mcp-routes.ts) and handed to
 * each session: the catalog of the upstreams' lists, the tool-call audit, the per-user connections, and the events
 * that reach open sessions. An idle session holds none of it, only a reference.
 */
export interface GatewayState {
  registry: UpstreamRegistry;
  catalog: Catalog;
  audit: ToolCallAudit;
  personal: PersonalConnections;
  events: SessionEvents;
  logger: GatewayLogger;
  /** Ends the subscriptions to the registry and to outbound OAuth. */
  close(): void;
}

export interface GatewayStateOptions {
  registry: UpstreamRegistry;
  runtime: Pick<Runtime, 'store' | 'config' | 'outbound' | 'perUserPool'>;
  logger: GatewayLogger & Partial<ToolCallLogger>;
  /** Where the tool-call metrics go (the app's registry); a gateway built alone in a test gets its own. */
  metrics?: Registry;
}

export function createGatewayState({ registry, runtime, logger, metrics = new Registry() }: GatewayStateOptions): GatewayState {
  const catalog = createCatalog(registry, {
    onError: (upstream, kind, error) => logger.warn({ upstream: upstream.settings.name, kind, error: String(error) }, 'listing an upstream failed'),
    onNameCollisions: (kind, collisions) => logger.warn({ kind, collisions }, 'names of unprefixed upstreams exposed with their prefix'),
  });
  const events = sessionEvents(registry, runtime.outbound, logger);
  return {
    registry,
    catalog,
    audit: withToolCallMetrics(
      toolCallAudit(runtime.store.toolCalls, runtime.config.audit),
      metrics,
      logger.info ? { logger: logger as ToolCallLogger, everyCall: runtime.config.audit.logToolCalls } : undefined,
    ),
    personal: { outbound: runtime.outbound, perUserPool: runtime.perUserPool },
    events,
    logger,
    close() {
      catalog.close();
      events.close();
    },
  };
}
