import { Counter, Registry } from 'prom-client';

/** Counters of tool governance, on the app's registry (served at /metrics), or a private one where there is none. */
export interface GovernanceMetrics {
  definitionChanged(upstream: string): void;
  rateLimited(upstream: string, tool: string): void;
}

export function governanceMetrics(registry: Registry = new Registry()): GovernanceMetrics {
  const changes = new Counter({
    name: 'gatehouse_tool_definition_changes_total',
    help: 'Upstream tools seen with a definition other than the pinned one, by upstream (each change counted once per replica noting it first).',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  const limited = new Counter({
    name: 'gatehouse_tool_calls_rate_limited_total',
    help: 'Tool calls refused because a rate limit was reached, by upstream and tool.',
    labelNames: ['upstream', 'tool'] as const,
    registers: [registry],
  });
  return {
    definitionChanged: (upstream) => changes.inc({ upstream }),
    rateLimited: (upstream, tool) => limited.inc({ upstream, tool }),
  };
}
