import type { Config } from '../config.js';
import type { AuditEventRecord, AuditStore, ToolCallRecord, ToolCallStore } from '../store/index.js';
import { appendBatcher, type AppendBatcher } from './append-batcher.js';

/** The audit tables, each written through its own batcher. */
export const AUDIT_STREAMS = ['tool_calls', 'audit_events'] as const;
/** Which audit table a failed write was for. */
export type AuditStream = (typeof AUDIT_STREAMS)[number];

export type AuditWriteFailureListener = (failure: { stream: AuditStream; rows: number; error: unknown }) => void;

/**
 * The two audit stores with their appends batched (audit/append-batcher.ts). Reading (`list`) first writes what
 * this process has queued, so a process always reads its own records; other replicas see them within the window.
 */
export interface BatchedAuditStores {
  audit: AuditStore;
  toolCalls: ToolCallStore;
  /** Hears every failed batch (for the metric and the log); returns the unsubscribe function. */
  onWriteFailure(listener: AuditWriteFailureListener): () => void;
  /** Rows that failed to be written since start, per stream. */
  readonly failedRows: Readonly<Record<AuditStream, number>>;
  flush(): Promise<void>;
  /** Flushes and writes later records at once (the shutdown path, before the database closes). */
  close(): Promise<void>;
}

export function batchedAuditStores(stores: { audit: AuditStore; toolCalls: ToolCallStore }, settings: Pick<Config['audit'], 'batchWindowMs' | 'batchSize' | 'queueLimit'>): BatchedAuditStores {
  const listeners = new Set<AuditWriteFailureListener>();
  const failedRows: Record<AuditStream, number> = { tool_calls: 0, audit_events: 0 };
  const batcherFor = <T>(stream: AuditStream, write: (rows: T[]) => Promise<void>): AppendBatcher<T> =>
    appendBatcher<T>({
      write,
      windowMs: settings.batchWindowMs,
      batchSize: settings.batchSize,
      queueLimit: settings.queueLimit,
      onFailure(error, rows) {
        failedRows[stream] += rows;
        for (const listener of listeners) listener({ stream, rows, error });
      },
    });
  const events = batcherFor<AuditEventRecord>('audit_events', (rows) => stores.audit.appendMany(rows));
  const calls = batcherFor<ToolCallRecord>('tool_calls', (rows) => stores.toolCalls.appendMany(rows));
  const flush = async () => void (await Promise.all([events.flush(), calls.flush()]));

  return {
    audit: {
      append: (event) => events.append(event),
      appendMany: async (rows) => void (await Promise.all(rows.map((row) => events.append(row)))),
      list: async (filter) => (await events.flush(), stores.audit.list(filter)),
    },
    toolCalls: {
      append: (call) => calls.append(call),
      appendMany: async (rows) => void (await Promise.all(rows.map((row) => calls.append(row)))),
      list: async (filter) => (await calls.flush(), stores.toolCalls.list(filter)),
      countByOutcomeSince: async (since) => (await calls.flush(), stores.toolCalls.countByOutcomeSince(since)),
    },
    onWriteFailure(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    failedRows,
    flush,
    async close() {
      await Promise.all([events.close(), calls.close()]);
    },
  };
}
