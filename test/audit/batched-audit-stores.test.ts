import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchedAuditStores } from '../../src/audit/batched-audit-stores.js';
import type { AuditEventRecord, ToolCallRecord } from '../../src/store/index.js';

const call = (id: string): ToolCallRecord => ({
  id, at: 1, userId: 'usr_1', clientId: null, upstreamId: 'ups_1', upstreamName: 'web', tool: 'echo', outcome: 'ok', error: null, durationMs: 1, arguments: null,
});

/** Stores that keep what is written in memory, the tool-call one failing while `failing` is set. */
function memoryStores() {
  const calls: ToolCallRecord[] = [];
  const events: AuditEventRecord[] = [];
  const state = { failing: false };
  return {
    calls,
    state,
    stores: {
      audit: { append: async () => undefined, appendMany: async (rows: readonly AuditEventRecord[]) => void events.push(...rows), list: async () => [...events] },
      toolCalls: {
        append: async () => undefined,
        appendMany: async (rows: readonly ToolCallRecord[]) => {
          if (state.failing) throw new Error('database unavailable');
          calls.push(...rows);
        },
        list: async () => [...calls],
        countByOutcomeSince: async (since: number) => {
          const counts: Partial<Record<ToolCallRecord['outcome'], number>> = {};
          for (const row of calls) if (row.at >= since) counts[row.outcome] = (counts[row.outcome] ?? 0) + 1;
          return counts;
        },
      },
    },
  };
}

const settings = { batchWindowMs: 60_000, batchSize: 100, queueLimit: 1000 };

describe('batched audit stores', () => {
  it('list first writes what this process queued, so a process always reads its own records', async () => {
    const memory = memoryStores();
    const batched = batchedAuditStores(memory.stores, settings);
    await batched.toolCalls.append(call('call_1'));
    assert.equal(memory.calls.length, 0, 'queued, not yet written');
    assert.deepEqual((await batched.toolCalls.list({ limit: 10 })).map((row) => row.id), ['call_1']);
    await batched.close();
  });

  it('a failed batch is counted per stream and told to every listener (for the metric and the log)', async () => {
    const memory = memoryStores();
    const batched = batchedAuditStores(memory.stores, settings);
    const told: Array<{ stream: string; rows: number; message: string }> = [];
    batched.onWriteFailure(({ stream, rows, error }) => told.push({ stream, rows, message: (error as Error).message }));
    memory.state.failing = true;
    await batched.toolCalls.append(call('call_1'));
    await batched.toolCalls.append(call('call_2'));
    await batched.flush();
    assert.deepEqual(told, [{ stream: 'tool_calls', rows: 2, message: 'database unavailable' }]);
    assert.deepEqual(batched.failedRows, { tool_calls: 2, audit_events: 0 });
    await batched.close();
  });

  it('close writes every queued record', async () => {
    const memory = memoryStores();
    const batched = batchedAuditStores(memory.stores, settings);
    for (const id of ['a', 'b', 'c']) await batched.toolCalls.append(call(id));
    await batched.close();
    assert.deepEqual(memory.calls.map((row) => row.id), ['a', 'b', 'c']);
  });
});
