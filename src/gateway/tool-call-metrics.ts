import type { Registry } from 'prom-client';
import { labelledSeries } from '../ops/metrics.js';
import { SeriesCounter, SeriesHistogram } from '../ops/series-metrics.js';
import type { ToolCallAudit, ToolCallEntry } from './tool-call-audit.js';

/** Distinct tool labels kept per upstream; beyond it calls count under `_other`, so one upstream cannot grow the series. */
export const MAX_TOOL_LABELS_PER_UPSTREAM = 200;
const OTHER_TOOL = '_other';

export interface ToolCallLogger {
  info(object: object, message: string): void;
}

export interface ToolCallLogging {
  logger: ToolCallLogger;
  /** Every call (`audit.logToolCalls`); otherwise only the calls policy refused. */
  everyCall: boolean;
}

/**
 * The tool-call audit, also counted (`gatehouse_mcp_tool_calls_total{upstream,tool,outcome}`, a duration histogram
 * per upstream) and mirrored to the log: policy refusals always, every call when asked (names and outcome, never
 * arguments). Every call the gateway answers or refuses passes through the audit, so this sees them all.
 */
export function withToolCallMetrics(audit: ToolCallAudit, registry: Registry, logging?: ToolCallLogging): ToolCallAudit {
  // Counted on every call: series counted in place (ops/series-metrics.ts).
  const calls = new SeriesCounter({
    name: 'gatehouse_mcp_tool_calls_total',
    help: 'MCP tool calls through the gateway, by upstream, tool (the upstream\'s own name) and outcome.',
    labelNames: ['upstream', 'tool', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new SeriesHistogram({
    name: 'gatehouse_mcp_tool_call_duration_seconds',
    help: 'Time from receiving a tool call to its answer, by upstream.',
    labelNames: ['upstream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  // Bounded: upstreams are few and their tool labels capped (below).
  const seriesOf = labelledSeries((upstream: string, tool: string, outcome: ToolCallEntry['outcome']) => ({
    calls: calls.labels({ upstream, tool, outcome }),
    duration: duration.labels({ upstream }),
  }));
  const toolLabels = new Map<string, Set<string>>();
  const toolLabel = (upstream: string, tool: string) => {
    let seen = toolLabels.get(upstream);
    if (!seen) toolLabels.set(upstream, (seen = new Set()));
    if (seen.has(tool)) return tool;
    if (seen.size >= MAX_TOOL_LABELS_PER_UPSTREAM) return OTHER_TOOL;
    seen.add(tool);
    return tool;
  };
  const observe = (entry: ToolCallEntry) => {
    const upstream = entry.upstream.settings.name;
    const tool = toolLabel(upstream, entry.tool);
    const series = seriesOf(upstream, tool, entry.outcome);
    series.calls.inc();
    series.duration.observe(Math.max(0, entry.durationMs) / 1000);
    if (!logging || !(logging.everyCall || entry.outcome === 'denied')) return;
    logging.logger.info(
      { upstream, tool: entry.tool, outcome: entry.outcome, userId: entry.principal.userId, clientId: entry.principal.clientId, durationMs: Math.round(entry.durationMs) },
      `tool call ${upstream}/${entry.tool}: ${entry.outcome}`,
    );
  };
  return {
    record(entry) {
      observe(entry);
      return audit.record(entry);
    },
  };
}
