import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gracefulShutdown, type CloseStep } from '../src/shutdown.js';

/** A step that finishes when the test says so. */
function heldStep(name: string, order: string[]) {
  let release: (error?: Error) => void = () => undefined;
  const step: CloseStep = {
    name,
    run: () =>
      new Promise<void>((resolve, reject) => {
        order.push(name);
        release = (error) => (error ? reject(error) : resolve());
      }),
  };
  return { step, release: (error?: Error) => release(error) };
}

/** Hooks that record what happened, with a deadline the test fires by hand. */
function recordingHooks() {
  const seen = { exits: [] as number[], stderr: [] as string[], messages: [] as string[], deadlineMs: 0, cancelled: false };
  let expire: () => void = () => undefined;
  let flushed: () => void = () => undefined;
  const flushing = new Promise<void>((resolve) => (flushed = resolve));
  const record = (details: unknown, message?: string) => seen.messages.push(message ?? String(details));
  return {
    seen,
    expire: () => expire(),
    finishFlush: () => flushed(),
    hooks: {
      log: { info: record, warn: record, error: record } as never,
      flushLogs: () => flushing,
      exit: (code: number) => seen.exits.push(code),
      tellOperator: (text: string) => seen.stderr.push(text),
      startDeadline: (ms: number, expired: () => void) => {
        seen.deadlineMs = ms;
        expire = expired;
        return () => (seen.cancelled = true);
      },
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('graceful shutdown', () => {
  it('runs the close steps in order, logs that it shut down cleanly, flushes the log, then exits 0 and cancels the deadline', async () => {
    const order: string[] = [];
    const first = heldStep('requests', order);
    const second = heldStep('database', order);
    const run = recordingHooks();
    gracefulShutdown([first.step, second.step], 25_000, run.hooks)('SIGTERM');
    assert.equal(run.seen.deadlineMs, 25_000);
    await settle();
    assert.deepEqual(order, ['requests'], 'the second step waits for the first');
    first.release();
    await settle();
    assert.deepEqual(order, ['requests', 'database']);
    second.release();
    await settle();
    assert.ok(run.seen.messages.includes('shut down cleanly'));
    assert.deepEqual(run.seen.exits, [], 'not before the log is flushed');
    run.finishFlush();
    await settle();
    assert.deepEqual(run.seen.exits, [0]);
    assert.equal(run.seen.cancelled, true);
    assert.deepEqual(run.seen.stderr, []);
  });

  it('at the deadline, a step still pending is abandoned: exit 1, naming the step on stderr; its late end exits nothing more', async () => {
    const stuck = heldStep('stop accepting and finish requests in flight', []);
    const run = recordingHooks();
    gracefulShutdown([stuck.step], 2_000, run.hooks)('SIGTERM');
    await settle();
    run.expire();
    assert.deepEqual(run.seen.exits, [1]);
    assert.deepEqual(run.seen.stderr, ['gatehouse: shutdown did not finish within 2 s (at: stop accepting and finish requests in flight); exiting with code 1\n']);
    stuck.release();
    run.finishFlush();
    await settle();
    assert.deepEqual(run.seen.exits, [1]);
  });

  it('a log that does not drain is abandoned at the deadline like any step', async () => {
    const run = recordingHooks();
    gracefulShutdown([], 3_000, run.hooks)('SIGINT');
    await settle();
    run.expire();
    assert.deepEqual(run.seen.exits, [1]);
    assert.match(run.seen.stderr[0]!, /\(at: flush logs\)/);
  });

  it('a second signal exits 1 at once, naming where the shutdown was', async () => {
    const stuck = heldStep('close the database', []);
    const run = recordingHooks();
    const onSignal = gracefulShutdown([stuck.step], 25_000, run.hooks);
    onSignal('SIGTERM');
    await settle();
    onSignal('SIGINT');
    assert.deepEqual(run.seen.exits, [1]);
    assert.deepEqual(run.seen.stderr, ['gatehouse: second signal (SIGINT) while shutting down (at: close the database); exiting with code 1\n']);
  });

  it('a failed step is logged, the later steps still run, and the exit code is 1', async () => {
    const order: string[] = [];
    const failing = heldStep('close upstream connections', order);
    const database = heldStep('close the database', order);
    const run = recordingHooks();
    gracefulShutdown([failing.step, database.step], 25_000, run.hooks)('SIGTERM');
    await settle();
    failing.release(new Error('upstream refused to close'));
    await settle();
    database.release();
    run.finishFlush();
    await settle();
    assert.deepEqual(order, ['close upstream connections', 'close the database']);
    assert.ok(run.seen.messages.includes('shutdown step failed: close upstream connections'));
    assert.ok(!run.seen.messages.includes('shut down cleanly'));
    assert.deepEqual(run.seen.exits, [1]);
  });
});
