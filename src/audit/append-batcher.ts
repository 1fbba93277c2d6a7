/**
 * Rows appended off the request's path: queued, then written in batches (each all or none) at most `windowMs`
 * after the first row of a batch was queued, or at once when `batchSize` rows wait; rows queued while a batch is
 * written start the next window. The queue is bounded: at `queueLimit` rows (besides the batch being written) an
 * append waits for the writes under way (backpressure), never drops. `flush` writes what waits and resolves when
 * it is written (or failed); a failed batch is reported to `onFailure` with its row count, and those rows are
 * lost: the crash window of a process killed between queueing and writing is the same.
 */
export interface AppendBatcher<T> {
  /** Queues the row; resolves once queued, not once written. After `close`, writes the row alone, at once. */
  append(row: T): Promise<void>;
  /** Writes everything queued so far. */
  flush(): Promise<void>;
  /** Flushes, then writes every later row on its own. */
  close(): Promise<void>;
  /** Rows queued and not yet written. */
  readonly pending: number;
}

export interface AppendBatcherOptions<T> {
  write(rows: T[]): Promise<void>;
  windowMs: number;
  batchSize: number;
  queueLimit: number;
  onFailure(error: unknown, rows: number): void;
}

/** What `append` returns for a row queued at once, shared: most appends neither wait nor need a promise of their own. */
const QUEUED: Promise<void> = Promise.resolve();

export function appendBatcher<T>(options: AppendBatcherOptions<T>): AppendBatcher<T> {
  const { write, windowMs, batchSize, queueLimit, onFailure } = options;
  const queue: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Batches are written one after another, in queue order. */
  let writing: Promise<void> = Promise.resolve();

  const writeBatch = async (rows: T[]) => {
    try {
      await write(rows);
    } catch (error) {
      onFailure(error, rows.length);
    }
  };

  /** Rows ever queued; those not in the queue any more were taken to be written. A flush writes up to the count queued when it was asked. */
  let queued = 0;
  const taken = () => queued - queue.length;

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const upTo = queued;
    // Only the rows queued so far: those queued while the batches are written wait for their own window (or a full
    // batch). Draining until the queue was empty wrote them one or two at a time, a COMMIT each, under steady load.
    writing = writing.then(async () => {
      while (taken() < upTo) await writeBatch(queue.splice(0, Math.min(batchSize, upTo - taken())));
    });
    return writing;
  };

  const enqueue = (row: T) => {
    queue.push(row);
    queued += 1;
    if (queue.length >= batchSize) void flush();
    else if (!timer) {
      timer = setTimeout(() => void flush(), windowMs);
      // A pending window never holds the process open: closing flushes it.
      timer.unref();
    }
  };
  /** Backpressure: waits for the writes under way until the queue has room (it is checked again after each). */
  const enqueueWhenRoom = async (row: T) => {
    while (queue.length >= queueLimit) await flush();
    enqueue(row);
  };

  return {
    append(row) {
      if (closed) return writeBatch([row]);
      if (queue.length >= queueLimit) return enqueueWhenRoom(row);
      enqueue(row);
      return QUEUED;
    },
    flush,
    async close() {
      closed = true;
      await flush();
    },
    get pending() {
      return queue.length;
    },
  };
}
