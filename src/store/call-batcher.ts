/**
 * Calls that arrive in the same event-loop turn run together: `run` gets the turn's inputs (at most `maxBatch` at a
 * time) and returns one result per input, in their order, typically from one set-based statement. On PostgreSQL
 * every statement costs a round trip (a write and a read on each side of the socket) and every write statement a
 * commit; a turn of concurrent requests then pays these once instead of once each. Nothing waits for a timer: the
 * batch leaves at the end of the turn its first call arrived in.
 *
 * With `maxInFlight`, at most that many batches run at once; calls that arrive meanwhile wait and leave together
 * when one finishes (group commit: under load each statement carries more calls, and fewer statements are sent).
 *
 * A batch of several that fails is run again one input at a time, so an input's failure is its own (a batch
 * statement is atomic, so the failed attempt wrote nothing).
 */
export function callBatcher<I, O>(run: (inputs: I[]) => Promise<O[]>, maxBatch: number, maxInFlight = Infinity): (input: I) => Promise<O> {
  interface Call {
    input: I;
    resolve(output: O): void;
    reject(error: unknown): void;
  }
  let queue: Call[] = [];
  let inFlight = 0;

  const runBatch = async (calls: Call[]): Promise<void> => {
    try {
      const outputs = await run(calls.map((call) => call.input));
      calls.forEach((call, index) => call.resolve(outputs[index]!));
    } catch (error) {
      if (calls.length === 1) calls[0]!.reject(error);
      else await Promise.all(calls.map((call) => runBatch([call])));
    }
  };

  const flush = () => {
    while (queue.length > 0 && inFlight < maxInFlight) {
      const calls = queue.splice(0, maxBatch);
      inFlight += 1;
      void runBatch(calls).finally(() => {
        inFlight -= 1;
        flush();
      });
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ input, resolve, reject });
    });
}
