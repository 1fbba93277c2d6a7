import type { Config } from '../config.js';
import { timeOrderedId } from '../crypto/random.js';
import type { ToolCallOutcome, ToolCallRecord, ToolCallStore } from '../store/gateway-types.js';
import type { UpstreamSettings } from '../upstream/types.js';
import { boundedJson, redactArguments, sensitiveKeyMatcher } from './argument-redaction.js';
import type { Principal } from './principal.js';

/** Error texts come from upstreams and can be long; the audit keeps the start, enough to tell failures apart. */
export const MAX_RECORDED_ERROR_LENGTH = 500;

/** One finished (or refused) `tools/call`, as the gateway knows it. */
export interface ToolCallEntry {
  principal: Pick<Principal, 'userId' | 'clientId'>;
  upstream: { id: string; settings: Pick<UpstreamSettings, 'name'> };
  /** The upstream's own (unprefixed) tool name. */
  tool: string;
  outcome: ToolCallOutcome;
  error?: string | null;
  durationMs: number;
  args?: unknown;
}

export interface ToolCallAudit {
  /** Appends the record; a store failure is thrown, for the caller to log without failing the call. */
  record(entry: ToolCallEntry): Promise<void>;
}

function shortError(error: string | null | undefined): string | null {
  if (error === undefined || error === null) return null;
  return error.length > MAX_RECORDED_ERROR_LENGTH ? `${error.slice(0, MAX_RECORDED_ERROR_LENGTH - 1)}…` : error;
}

/**
 * The audit trail of tool calls. Arguments are left out unless `recordArguments` is on; then they are kept as
 * JSON with the values of sensitive keys blanked and the size capped. `at` is when the call started.
 */
export function toolCallAudit(store: Pick<ToolCallStore, 'append'>, config: Config['audit'], now: () => number = Date.now): ToolCallAudit {
  const isSensitive = sensitiveKeyMatcher(config.redactKeys);
  const recordedArguments = (args: unknown): string | null =>
    config.recordArguments ? boundedJson(redactArguments(args ?? null, isSensitive)) : null;

  return {
    // Not async: the store's promise is returned as it is (a queued append resolves at once).
    record(entry) {
      const durationMs = Math.max(0, Math.round(entry.durationMs));
      const at = Math.round(now() - durationMs);
      const call: ToolCallRecord = {
        id: timeOrderedId('call', at),
        at,
        userId: entry.principal.userId,
        clientId: entry.principal.clientId,
        upstreamId: entry.upstream.id,
        upstreamName: entry.upstream.settings.name,
        tool: entry.tool,
        outcome: entry.outcome,
        error: entry.outcome === 'ok' ? null : shortError(entry.error),
        durationMs,
        arguments: recordedArguments(entry.args),
      };
      return store.append(call);
    },
  };
}
