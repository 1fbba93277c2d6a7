import type { RateWindowStore } from '../store/index.js';
import type { RateLimit, Upstream } from '../upstream/types.js';

/**
 * Per-principal call quotas of upstreams (`rate_limit`) and their tools (`tool_rate_limits`): fixed windows counted
 * in the store (one atomic statement per window, rate_windows), so every replica of a fleet adds to one count. Every
 * attempt counts, refused ones included. Only upstreams with a limit cost a database write per call.
 */

export interface QuotaRefusal {
  scope: 'upstream' | 'tool';
  limit: RateLimit;
  /** Whole seconds until the window that refused the call ends. */
  retryAfterSeconds: number;
}

export interface CallQuotas {
  /** Counts one call of `principalId` to `tool` of `upstream`; the refusal when a limit is passed. */
  take(upstream: Upstream, tool: string, principalId: string): Promise<QuotaRefusal | undefined>;
}

/** Whether calls to `tool` count against a quota at all (else `take` has nothing to count). */
export function hasQuota(settings: Pick<Upstream['settings'], 'rate_limit' | 'tool_rate_limits'>, tool: string): boolean {
  return settings.rate_limit !== undefined || (settings.tool_rate_limits !== undefined && Object.hasOwn(settings.tool_rate_limits, tool));
}

export function callQuotas(windows: RateWindowStore, now: () => number = Date.now): CallQuotas {
  return {
    async take(upstream, tool, principalId) {
      const limits: Array<{ scope: QuotaRefusal['scope']; limit: RateLimit; bucket: string }> = [];
      const { rate_limit: upstreamLimit, tool_rate_limits: toolLimits } = upstream.settings;
      if (upstreamLimit) limits.push({ scope: 'upstream', limit: upstreamLimit, bucket: `quota:${upstream.id}:${upstreamLimit.per_seconds}:${principalId}` });
      const toolLimit = toolLimits && Object.hasOwn(toolLimits, tool) ? toolLimits[tool] : undefined;
      if (toolLimit) limits.push({ scope: 'tool', limit: toolLimit, bucket: `quota:${upstream.id}:${toolLimit.per_seconds}:${principalId}:${tool}` });
      for (const { scope, limit, bucket } of limits) {
        const at = now();
        const windowMs = limit.per_seconds * 1000;
        const windowStart = Math.floor(at / windowMs) * windowMs;
        if ((await windows.hit(bucket, windowStart)) > limit.calls) {
          return { scope, limit, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMs - at) / 1000)) };
        }
      }
      return undefined;
    },
  };
}
