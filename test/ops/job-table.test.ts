import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobTable, type Timers } from '../../src/ops/job-table.js';

/** Timers that fire only when the test says so, and show what is pending. */
function manualTimers(): Timers & { pending: Map<number, { callback: () => void; ms: number }>; fireAll(): void } {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 0;
  return {
    pending,
    set(callback, ms) {
      pending.set(++next, { callback, ms });
      return next;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
    fireAll() {
      const due = [...pending];
      pending.clear();
      for (const [, timer] of due) timer.callback();
    },
  };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('job table', () => {
  it('start schedules each job at its interval; each run is followed by the next one', async () => {
    const timers = manualTimers();
    let runs = 0;
    const table = jobTable([{ name: 'count', intervalMs: 5000, run: async () => void runs++ }], { onError: () => assert.fail('no error'), timers });
    table.start();
    assert.deepEqual([...timers.pending.values()].map((timer) => timer.ms), [5000]);
    timers.fireAll();
    await settle();
    assert.equal(runs, 1);
    assert.equal(timers.pending.size, 1, 'rescheduled after the run');
    await table.stop();
  });

  it('a failing job is reported and scheduled again; the other jobs keep running', async () => {
    const timers = manualTimers();
    const errors: string[] = [];
    let healthyRuns = 0;
    const table = jobTable(
      [
        { name: 'broken', intervalMs: 1000, run: () => Promise.reject(new Error('database down')) },
        { name: 'throws-at-once', intervalMs: 1000, run: () => { throw new Error('sync failure'); } },
        { name: 'healthy', intervalMs: 1000, run: async () => void healthyRuns++ },
      ],
      { onError: (job, error) => errors.push(`${job}: ${(error as Error).message}`), timers },
    );
    table.start();
    for (let round = 0; round < 2; round++) {
      timers.fireAll();
      await settle();
    }
    assert.equal(healthyRuns, 2);
    assert.deepEqual(errors.sort(), ['broken: database down', 'broken: database down', 'throws-at-once: sync failure', 'throws-at-once: sync failure']);
    assert.equal(timers.pending.size, 3);
    await table.stop();
  });

  it('stop leaves no timer pending, tells a run in progress to end and waits for it; nothing is scheduled after it', async () => {
    const timers = manualTimers();
    let finish!: () => void;
    let finished = false;
    let signal: AbortSignal | undefined;
    const table = jobTable(
      [
        {
          name: 'slow',
          intervalMs: 1000,
          run: (stopping) => {
            signal = stopping;
            return new Promise<void>((resolve) => (finish = resolve)).then(() => void (finished = true));
          },
        },
        { name: 'idle', intervalMs: 60_000, run: async () => undefined },
      ],
      { onError: () => assert.fail('no error'), timers },
    );
    table.start();
    timers.pending.get(1)!.callback();
    timers.pending.delete(1);
    await settle();
    const stopped = table.stop();
    let stopDone = false;
    void stopped.then(() => (stopDone = true));
    await settle();
    assert.equal(stopDone, false, 'stop waits for the running job');
    assert.equal(signal?.aborted, true, 'the running job is told to end');
    finish();
    await stopped;
    assert.equal(finished, true);
    assert.equal(timers.pending.size, 0);
  });

});
