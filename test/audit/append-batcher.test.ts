import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendBatcher, type AppendBatcherOptions } from '../../src/audit/append-batcher.js';

/** A table that records each write (one multi-row INSERT) and can be made to fail or to hold a write open. */
function recordingTable() {
  const writes: number[][] = [];
  let failNext = false;
  let hold: Promise<void> | undefined;
  return {
    writes,
    failNextWrite: () => (failNext = true),
    holdWrites(until: Promise<void>) {
      hold = until;
    },
    async write(rows: number[]) {
      if (hold) await hold;
      if (failNext) {
        failNext = false;
        throw new Error('connection lost');
      }
      writes.push(rows);
    },
  };
}

const options = (table: ReturnType<typeof recordingTable>, overrides: Partial<AppendBatcherOptions<number>> = {}): AppendBatcherOptions<number> => ({
  write: (rows) => table.write(rows),
  // Long: only flush, close and a full batch write in these tests, never the timer.
  windowMs: 60_000,
  batchSize: 3,
  queueLimit: 100,
  onFailure: () => undefined,
  ...overrides,
});

describe('append batcher', () => {
  it('writes queued rows as batches of at most batchSize, in order, when flushed', async () => {
    const table = recordingTable();
    const batcher = appendBatcher(options(table, { batchSize: 10 }));
    for (const row of [1, 2]) await batcher.append(row);
    assert.equal(table.writes.length, 0, 'appending writes nothing yet');
    assert.equal(batcher.pending, 2);
    await batcher.flush();
    assert.deepEqual(table.writes, [[1, 2]]);
    await batcher.close();
  });

  it('writes a full batch without waiting for the window', async () => {
    const table = recordingTable();
    const batcher = appendBatcher(options(table));
    for (const row of [1, 2, 3, 4]) await batcher.append(row);
    await batcher.flush();
    assert.deepEqual(table.writes, [[1, 2, 3], [4]]);
    await batcher.close();
  });

  it('rows queued while a batch is written wait for their own window instead of being written one by one', async () => {
    const table = recordingTable();
    let release!: () => void;
    table.holdWrites(new Promise<void>((resolve) => (release = resolve)));
    const batcher = appendBatcher(options(table, { batchSize: 10 }));
    for (const row of [1, 2]) await batcher.append(row);
    const flushed = batcher.flush();
    for (const row of [3, 4]) await batcher.append(row);
    release();
    await flushed;
    assert.deepEqual(table.writes, [[1, 2]], 'the flush wrote the rows queued before it, and only those');
    assert.equal(batcher.pending, 2, 'the later rows wait for their window');
    await batcher.flush();
    assert.deepEqual(table.writes, [[1, 2], [3, 4]], 'then written together, in order');
    await batcher.close();
  });

  it('writes after the window without a flush', async () => {
    const table = recordingTable();
    const batcher = appendBatcher(options(table, { windowMs: 1 }));
    await batcher.append(7);
    while (table.writes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(table.writes, [[7]]);
    await batcher.close();
  });

  it('close writes what is queued, and rows appended after it are written at once, alone', async () => {
    const table = recordingTable();
    const batcher = appendBatcher(options(table));
    await batcher.append(1);
    await batcher.close();
    assert.deepEqual(table.writes, [[1]]);
    await batcher.append(2);
    assert.deepEqual(table.writes, [[1], [2]]);
  });

  it('a failed batch is reported with its row count, and the next batches are still written', async () => {
    const table = recordingTable();
    const failures: Array<{ message: string; rows: number }> = [];
    const batcher = appendBatcher(options(table, { onFailure: (error, rows) => failures.push({ message: (error as Error).message, rows }) }));
    table.failNextWrite();
    for (const row of [1, 2, 3, 4]) await batcher.append(row);
    await batcher.flush();
    assert.deepEqual(failures, [{ message: 'connection lost', rows: 3 }]);
    assert.deepEqual(table.writes, [[4]]);
    await batcher.close();
  });

  it('at queueLimit an append waits for the write under way instead of dropping a row', async () => {
    const table = recordingTable();
    let release!: () => void;
    table.holdWrites(new Promise<void>((resolve) => (release = resolve)));
    const batcher = appendBatcher(options(table, { batchSize: 2, queueLimit: 2 }));
    // 1 and 2 are being written (held); 3 and 4 fill the queue.
    for (const row of [1, 2, 3, 4]) await batcher.append(row);
    let fifth = false;
    const appending = batcher.append(5).then(() => (fifth = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fifth, false, 'the fifth row waits while the queue is full and the write under way is held');
    release();
    await appending;
    await batcher.close();
    assert.deepEqual(table.writes.flat(), [1, 2, 3, 4, 5], 'every row written, in order');
  });
});
