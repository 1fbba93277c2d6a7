/**
 * What the main thread and the SQLite worker thread (`sqlite-thread.ts`, `sqlite-worker.ts`) send each other. Each
 * side gathers what one event-loop turn produced into one `postMessage` (an array): a round trip costs a few µs of
 * CPU per call that way, against ~50 µs one message at a time.
 */

/**
 * A call: `target` is a store's name (`refreshTokens`), `$db` for the raw database, or `$tx` for the statements of
 * a transaction whose work runs on the main thread.
 */
export type ThreadCall = [id: number, target: string, method: string, args: unknown[]];

/** An answer: the value, or the failure as `SentError`. */
export type ThreadAnswer = [id: number, failed: 0, value: unknown] | [id: number, failed: 1, error: SentError];

/** What the worker says once, before any answer: its stores' method names, or why it could not open the database. */
export type WorkerGreeting = { ready: Record<string, string[]> } | { failed: SentError };

/**
 * An error as it crosses the thread boundary. Structured clone keeps an Error's name and message but drops its own
 * properties, and callers read `code` (`isUniqueViolation`): those travel alongside and are put back.
 */
export interface SentError {
  name: string;
  message: string;
  stack?: string;
  properties: Record<string, unknown>;
}

export function sentError(error: unknown): SentError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), properties: {} };
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value)) properties[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, properties };
}

export function receivedError(sent: SentError): Error {
  const error = Object.assign(new Error(sent.message), sent.properties);
  error.name = sent.name;
  if (sent.stack) error.stack = sent.stack;
  return error;
}

/**
 * Sends the turn's messages as one. A message that cannot be cloned (a function among the arguments) would fail
 * them all, so then each is sent alone and the one that fails is handed to `unsendable`.
 */
export function postAll<T>(post: (messages: T[]) => void, messages: T[], unsendable: (message: T, error: unknown) => void): void {
  try {
    post(messages);
  } catch {
    for (const message of messages) {
      try {
        post([message]);
      } catch (error) {
        unsendable(message, error);
      }
    }
  }
}

/** Queues items and hands them over once per event-loop turn, after the turn's I/O callbacks have added theirs. */
export function perTurnQueue<T>(flush: (items: T[]) => void): (item: T) => void {
  let queue: T[] = [];
  const send = () => {
    const items = queue;
    queue = [];
    flush(items);
  };
  return (item) => {
    if (queue.length === 0) setImmediate(send);
    queue.push(item);
  };
}
