import { Registry } from 'prom-client';
import type { Runtime } from '../runtime.js';
import type { VirtualServerStore } from '../store/index.js';
import type { ToolPins } from '../upstream/tool-pins.js';
import type { UpstreamRegistry } from '../upstream/types.js';
import { callApprovals, type CallApprovals } from './call-approvals.js';
import { createCatalog, type Catalog } from './catalog.js';
import { governanceMetrics, type GovernanceMetrics } from './governance-metrics.js';
import type { PersonalConnections } from './personal-connections.js';
import { sessionEvents, type GatewayLogger, type SessionEvents } from './session-events.js';
import { callQuotas, type CallQuotas } from './quotas.js';
import { resourceSubscriptions, type ResourceSubscriptions } from './resource-subscriptions.js';
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
  /** Pinned tool definitions: which listed tools are withheld. */
  pins: ToolPins;
  quotas: CallQuotas;
  /** Calls held until their person approves them. */
  approvals: CallApprovals;
  /** Curated tool sets, read per request (virtual-servers.ts). */
  virtualServers: Pick<VirtualServerStore, 'find'>;
  /** Subscriptions to upstreams' resource updates, held once per resource for every session and stream. */
  subscriptions: ResourceSubscriptions;
  metrics: GovernanceMetrics;
  logger: GatewayLogger;
  /** Ends the subscriptions to the registry, to outbound OAuth and to the pins. */
  close(): void;
}

export interface GatewayStateOptions {
  registry: UpstreamRegistry;
  runtime: Pick<Runtime, 'store' | 'config' | 'outbound' | 'perUserPool' | 'toolPins' | 'audit' | 'keys'>;
  logger: GatewayLogger & Partial<ToolCallLogger>;
  /** Where the gateway's metrics go (the app's registry); a gateway built alone in a test gets its own. */
  metrics?: Registry;
}

export function createGatewayState({ registry, runtime, logger, metrics: metricsRegistry = new Registry() }: GatewayStateOptions): GatewayState {
  const pins = runtime.toolPins;
  const catalog = createCatalog(registry, {
    onError: (upstream, kind, error) => logger.warn({ upstream: upstream.settings.name, kind, error: String(error) }, 'listing an upstream failed'),
    onNameCollisions: (kind, collisions) => logger.warn({ kind, collisions }, 'names of unprefixed upstreams exposed with their prefix'),
    reviewTools: (upstream, tools) => pins.review(upstream, tools),
    onToolRejected: (upstream, tool, reason) => logger.warn({ upstream: upstream.settings.name, tool, reason }, 'an upstream tool was left out: its x-mcp-header declarations are invalid'),
  });
  const events = sessionEvents({ registry, outbound: runtime.outbound, pins, notifications: runtime.store.notifications }, logger);
  const metrics = governanceMetrics(metricsRegistry);
  const stopCounting = pins.subscribe((event) => {
    if (event.kind !== 'definition_changed') return;
    metrics.definitionChanged(event.upstream.settings.name);
    logger.warn({ upstream: event.upstream.settings.name, tool: event.tool, fields: Object.keys(event.diff) }, 'an upstream tool changed its pinned definition');
  });
  return {
    registry,
    catalog,
    audit: withToolCallMetrics(
      toolCallAudit(runtime.store.toolCalls, runtime.config.audit),
      metricsRegistry,
      logger.info ? { logger: logger as ToolCallLogger, everyCall: runtime.config.audit.logToolCalls } : undefined,
    ),
    personal: { outbound: runtime.outbound, perUserPool: runtime.perUserPool },
    events,
    pins,
    quotas: callQuotas(runtime.store.rateWindows),
    virtualServers: runtime.store.virtualServers,
    approvals: callApprovals({ store: runtime.store.callApprovals, audit: runtime.audit, hasher: runtime.keys.tokenHasher, config: runtime.config }),
    subscriptions: resourceSubscriptions((upstream, error) => logger.warn({ upstream: upstream.settings.name, error: String(error) }, 'ending a resource subscription upstream failed')),
    metrics,
    logger,
    close() {
      catalog.close();
      events.close();
      stopCounting();
    },
  };
}
