import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ToolCallRecord } from '../../../src/store/index.js';
import { backends, openTestStore } from '../../helpers/backends.js';

const call = (index: number): ToolCallRecord => ({
  id: `call_${String(index).padStart(4, '0')}`,
  at: 1_000 + index,
  userId: null,
  clientId: null,
  upstreamId: 'ups_1',
  upstreamName: 'one',
  tool: 'echo',
  outcome: 'ok',
  error: null,
  durationMs: 1,
  arguments: null,
});

for (const backend of backends) {
  describe(`tool-call batches on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('a batch of 157 calls (chunks of 64, 64, 16, 4, 4, 4 and 1) is written whole', async () => {
      const calls = Array.from({ length: 157 }, (_, index) => call(index));
      await store.toolCalls.appendMany(calls);
      const listed = await store.toolCalls.list({ limit: 200 });
      assert.deepEqual(listed.map((row) => row.id).sort(), calls.map((row) => row.id));
      assert.deepEqual(listed.find((row) => row.id === 'call_0156'), calls[156]);
    });

    it('a batch with one row its table refuses writes none of its rows, in any chunk', async () => {
      const calls = Array.from({ length: 90 }, (_, index) => call(index));
      // The 90th row repeats the first one's id: it sits in a later chunk than the rows it would take down.
      calls[89] = { ...calls[89]!, id: calls[0]!.id };
      await assert.rejects(store.toolCalls.appendMany(calls));
      assert.deepEqual(await store.toolCalls.list({ limit: 200 }), []);
    });
  });
}
