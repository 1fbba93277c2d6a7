import type { Writable } from 'node:stream';

/** What may wait in memory for a slow or stuck log reader before lines are dropped. */
export const DEFAULT_LOG_BUFFER_CHARS = 1024 * 1024;

/**
 * pino's destination for the server's log. It hands each line to a stream (stdout) that writes without blocking
 * (a pipe or socket: libuv retries when the reader has room; a file: at once) and never holds more than a bound:
 * when the reader stops reading, new lines are dropped and counted instead of piling up. It registers no exit
 * handler, unlike pino's default sonic-boom, whose synchronous flush at exit spins forever on a full pipe; and it
 * never writes from the thread pool, where a write to a full blocking pipe would hang `process.exit` too.
 */
export interface LogOutput {
  write(line: string): void;
  /** pino's `logger.flush(callback)`: calls back once every accepted line has reached the operating system. */
  flush(callback?: (error?: Error) => void): void;
  /** Resolves once every accepted line has reached the operating system (or the stream failed); never rejects. */
  drained(): Promise<void>;
  /** Lines dropped since start because the buffer was full or the stream had failed. */
  readonly droppedLines: number;
  /** Characters accepted but not yet taken by the operating system. */
  readonly bufferedChars: number;
}

export interface LogOutputOptions {
  maxBufferedChars?: number;
  /**
   * Called once per blocked spell, when the buffer is back under half its bound after lines were dropped, with how
   * many were; the server logs one warning from it.
   */
  onRecovered?: (droppedLines: number) => void;
}

export function boundedLogOutput(stream: Writable, options: LogOutputOptions = {}): LogOutput {
  const limit = options.maxBufferedChars ?? DEFAULT_LOG_BUFFER_CHARS;
  let droppedLines = 0;
  let droppedInSpell = 0;
  let unfinishedWrites = 0;
  let failed = false;
  let waiters: (() => void)[] = [];

  const settleWaiters = () => {
    const settled = waiters;
    waiters = [];
    for (const resolve of settled) resolve();
  };
  // A closed reader (EPIPE) would otherwise be an uncaught 'error' that kills the process.
  stream.on('error', () => {
    failed = true;
    settleWaiters();
  });
  // One function for every write, not a closure per line.
  const afterWrite = () => {
    unfinishedWrites -= 1;
    if (droppedInSpell > 0 && !failed && stream.writableLength <= limit / 2) {
      const dropped = droppedInSpell;
      droppedInSpell = 0;
      options.onRecovered?.(dropped);
    }
    if (unfinishedWrites === 0) settleWaiters();
  };

  const drained = () => (unfinishedWrites === 0 || failed ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)));

  return {
    write(line) {
      if (failed || stream.writableLength + line.length > limit) {
        droppedLines += 1;
        droppedInSpell += 1;
        return;
      }
      unfinishedWrites += 1;
      stream.write(line, afterWrite);
    },
    flush(callback) {
      void drained().then(() => callback?.());
    },
    drained,
    get droppedLines() {
      return droppedLines;
    },
    get bufferedChars() {
      return stream.writableLength;
    },
  };
}
