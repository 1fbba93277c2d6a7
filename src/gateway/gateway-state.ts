import { Registry } from 'prom-client';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/key-ring.js';
import type { OpenedStore, VirtualServerStore } from '../store/index.js';
import type { OutboundOAuth } from '../upstream/oauth/outbound-oauth.js';
import type { PerUserPool } from '../upstream/per-user-pool.js';
import type { ToolPins } from '../upstream/tool-pins.js';
import type { UpstreamRegistry } from '../upstream/types.js';
import { callApprovals, type CallApprovals } from './call-approvals.js';
import { createCatalog, type Catalog } from './catalog.js';
import { governanceMetrics, type GovernanceMetrics } from './governance-metrics.js';
import type { PersonalConnections } from './personal-connections.js';
import { sessionEvents, type GatewayLogger, type SessionEvents } from './session-events.js';
import { callQuotas, type CallQuotas } from './quotas.js';
import { shadowedResourceLog, type ShadowedResource } from './resource-owners.js';
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
  /** Curated tool sets, read per request (through mcp-routes.ts's cache: virtual-servers.ts). */
  virtualServers: Pick<VirtualServerStore, 'find'>;
  /** Subscriptions to upstreams' resource updates, held once per resource for every session and stream. */
  subscriptions: ResourceSubscriptions;
  /** Hears of the resources left out of a listing because another upstream serves the same URI (logged once per pair). */
  shadowedResources(shadowed: readonly ShadowedResource[]): void;
  metrics: GovernanceMetrics;
  logger: GatewayLogger;
  /** Ends the subscriptions to the registry, to outbound OAuth and to the pins. */
  close(): void;
}

/** The services the shared state is built on. */
export interface GatewayStateDeps {
  config: Pick<Config, 'publicUrl' | 'audit' | 'approvals'>;
  store: Pick<OpenedStore, 'notifications' | 'toolCalls' | 'rateWindows' | 'callApprovals'> & { virtualServers: Pick<VirtualServerStore, 'find'> };
  keys: Pick<KeyRing, 'tokenHasher'>;
  outbound: OutboundOAuth;
  perUserPool: PerUserPool;
  toolPins: ToolPins;
  audit: AuditLog;
  clock: Clock;
}

export interface GatewayStateOptions {
  registry: UpstreamRegistry;
  deps: GatewayStateDeps;
  logger: GatewayLogger & Partial<ToolCallLogger>;
  /** Where the gateway's metrics go (the app's registry); a gateway built alone in a test gets its own. */
  metrics?: Registry;
}

export function createGatewayState({ registry, deps, logger, metrics: metricsRegistry = new Registry() }: GatewayStateOptions): GatewayState {
  const pins = deps.toolPins;
  const catalog = createCatalog(registry, {
    onError: (upstream, kind, error) => logger.warn({ upstream: upstream.settings.name, kind, error: String(error) }, 'listing an upstream failed'),
    onNameCollisions: (kind, collisions) => logger.warn({ kind, collisions }, 'names of unprefixed upstreams exposed with their prefix'),
    reviewTools: (upstream, tools) => pins.review(upstream, tools),
    onToolRejected: (upstream, tool, reason) => logger.warn({ upstream: upstream.settings.name, tool, reason }, 'an upstream tool was left out: its x-mcp-header declarations are invalid'),
  });
  const events = sessionEvents({ registry, outbound: deps.outbound, pins, notifications: deps.store.notifications }, logger);
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
      toolCallAudit(deps.store.toolCalls, deps.config.audit, deps.clock),
      metricsRegistry,
      logger.info ? { logger: logger as ToolCallLogger, everyCall: deps.config.audit.logToolCalls } : undefined,
    ),
    personal: { outbound: deps.outbound, perUserPool: deps.perUserPool },
    events,
    pins,
    quotas: callQuotas(deps.store.rateWindows, deps.clock),
    virtualServers: deps.store.virtualServers,
    approvals: callApprovals({ store: deps.store.callApprovals, audit: deps.audit, hasher: deps.keys.tokenHasher, config: deps.config, now: deps.clock }),
    subscriptions: resourceSubscriptions((upstream, error) => logger.warn({ upstream: upstream.settings.name, error: String(error) }, 'ending a resource subscription upstream failed')),
    shadowedResources: shadowedResourceLog(logger),
    metrics,
    logger,
    close() {
      catalog.close();
      events.close();
      stopCounting();
    },
  };
}
