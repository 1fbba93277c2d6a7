import assert from 'node:assert/strict';
import { it } from 'node:test';
import { callBatcher } from '../../src/store/call-batcher.js';

/** A batch function that doubles numbers, keeps the batches it was given, and refuses negative ones. */
function doubling() {
  const batches: number[][] = [];
  const call = callBatcher(async (inputs: number[]) => {
    batches.push(inputs);
    if (inputs.some((input) => input < 0)) throw new Error(`refused ${inputs.join(',')}`);
    return inputs.map((input) => input * 2);
  }, 3);
  return { batches, call };
}

it('calls made in one turn reach the batch function together, and each gets its own result', async () => {
  const { batches, call } = doubling();
  assert.deepEqual(await Promise.all([call(1), call(2), call(3)]), [2, 4, 6]);
  assert.deepEqual(batches, [[1, 2, 3]]);
});

it('a busy turn is sent in batches of at most the limit; later turns start new batches', async () => {
  const { batches, call } = doubling();
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(call)), [2, 4, 6, 8, 10]);
  assert.deepEqual(await call(6), 12);
  assert.deepEqual(batches, [[1, 2, 3], [4, 5], [6]]);
});

it('a failed batch is run again one call at a time, so only the failing call fails', async () => {
  const { batches, call } = doubling();
  const outcomes = await Promise.allSettled([call(1), call(-1), call(2)]);
  assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(outcomes[0], { status: 'fulfilled', value: 2 });
  assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /refused -1$/);
  assert.deepEqual(batches, [[1, -1, 2], [1], [-1], [2]]);
});

it('with one batch in flight, calls made meanwhile wait and leave together when it finishes', async () => {
  const batches: number[][] = [];
  let finishFirst: () => void = () => undefined;
  const call = callBatcher(
    async (inputs: number[]) => {
      batches.push(inputs);
      if (batches.length === 1) await new Promise<void>((resolve) => (finishFirst = resolve));
      return inputs.map((input) => input * 2);
    },
    3,
    1,
  );
  const first = call(1);
  await new Promise((resolve) => setImmediate(resolve));
  const later = [2, 3, 4, 5].map((input) => call(input));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(batches, [[1]], 'the later calls wait for the batch in flight');
  finishFirst();
  assert.deepEqual(await Promise.all([first, ...later]), [2, 4, 6, 8, 10]);
  assert.deepEqual(batches, [[1], [2, 3, 4], [5]], 'then leave at most the limit at a time, one batch after another');
});
