import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Bounded waits for things that happen asynchronously: the test fails, never hangs, when they do not. */
export const WAIT_LIMIT_MS = 20_000;

/** Polls `probe` until it returns something other than undefined, or fails the test after WAIT_LIMIT_MS. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
