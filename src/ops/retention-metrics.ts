import { Counter, Gauge, type Registry } from 'prom-client';
import type { SweepResult } from './retention.js';

export interface RetentionMetrics {
  /** One rule of one sweep done. */
  rule(result: SweepResult): void;
  /** A whole sweep done, at `at` (epoch ms). */
  sweep(at: number): void;
}

/** The retention sweep's series in the app's registry: rows per sweep and in total, by table and rule; the last sweep's time. */
export function retentionMetrics(registry: Registry): RetentionMetrics {
  const deleted = new Counter({
    name: 'gatehouse_retention_rows_deleted_total',
    help: 'Rows the retention sweep deleted (or, for refresh-token replay copies, emptied), by table and rule.',
    labelNames: ['table', 'rule'] as const,
    registers: [registry],
  });
  const lastRows = new Gauge({
    name: 'gatehouse_retention_last_sweep_rows',
    help: 'Rows the last retention sweep deleted, by table and rule.',
    labelNames: ['table', 'rule'] as const,
    registers: [registry],
  });
  const lastSweep = new Gauge({
    name: 'gatehouse_retention_last_sweep_timestamp_seconds',
    help: 'When this process last finished a retention sweep (Unix time).',
    registers: [registry],
  });
  return {
    rule({ table, rule, rows }) {
      deleted.inc({ table, rule }, rows);
      lastRows.set({ table, rule }, rows);
    },
    sweep(at) {
      lastSweep.set(at / 1000);
    },
  };
}
