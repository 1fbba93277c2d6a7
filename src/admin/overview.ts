import type { FastifyPluginAsync } from 'fastify';
import type { ToolCallOutcome } from '../store/gateway-types.js';
import type { UpstreamService, UpstreamView } from '../upstream/upstream-service.js';
import type { Clock } from '../clock.js';
import type { OpenedStore } from '../store/index.js';

/** The window the overview's rates are measured over. */
export const OVERVIEW_WINDOW_MINUTES = 15;

export interface OverviewView {
  window_minutes: number;
  upstreams: { total: number; by_state: Partial<Record<UpstreamView['status']['state'], number>> };
  tool_calls: { total: number; per_minute: number; errors: number; by_outcome: Partial<Record<ToolCallOutcome, number>> };
  /** MCP sessions used within the window, on every replica. */
  active_sessions: number;
}

/** Step: upstreams counted by their live state. */
function upstreamHealth(upstreams: UpstreamView[]): OverviewView['upstreams'] {
  const byState: OverviewView['upstreams']['by_state'] = {};
  for (const upstream of upstreams) byState[upstream.status.state] = (byState[upstream.status.state] ?? 0) + 1;
  return { total: upstreams.length, by_state: byState };
}

/** Step: tool calls of the window; every outcome but `ok` and `input_required` counts as an error (the tool's own errors included). */
function callRates(byOutcome: Partial<Record<ToolCallOutcome, number>>): OverviewView['tool_calls'] {
  const counts = Object.entries(byOutcome) as [ToolCallOutcome, number][];
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const errors = counts.reduce((sum, [outcome, n]) => (outcome === 'ok' || outcome === 'input_required' ? sum : sum + n), 0);
  return { total, per_minute: Math.round((total / OVERVIEW_WINDOW_MINUTES) * 10) / 10, errors, by_outcome: byOutcome };
}

/** What the overview reads: upstreams with their state, tool calls and sessions of the window, the clock. */
export interface OverviewDeps {
  upstreamService: Pick<UpstreamService, 'list'>;
  store: Pick<OpenedStore, 'toolCalls' | 'mcpSessions'>;
  clock: Clock;
}

/** `GET /api/overview`: the gateway at a glance, for the console's first page and for monitoring scripts. */
export const overviewRoutes: FastifyPluginAsync<{ deps: OverviewDeps }> = async (api, { deps }) => {
  api.get('/overview', async (): Promise<OverviewView> => {
    const since = deps.clock() - OVERVIEW_WINDOW_MINUTES * 60_000;
    const [upstreams, byOutcome, activeSessions] = await Promise.all([
      deps.upstreamService.list(),
      deps.store.toolCalls.countByOutcomeSince(since),
      deps.store.mcpSessions.countUsedSince(since),
    ]);
    return { window_minutes: OVERVIEW_WINDOW_MINUTES, upstreams: upstreamHealth(upstreams), tool_calls: callRates(byOutcome), active_sessions: activeSessions };
  });
};
