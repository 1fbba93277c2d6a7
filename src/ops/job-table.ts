/**
 * A background job: run every `intervalMs` (counted from the end of the previous run, so runs never overlap).
 * `stopping` is aborted when the table stops: a long run should end at its next safe point.
 */
export interface Job {
  name: string;
  intervalMs: number;
  run(stopping: AbortSignal): Promise<unknown>;
}

export interface JobTable {
  readonly jobs: readonly Job[];
  start(): void;
  /** Clears every timer, asks runs in progress to end and waits for them; after it no timer of the table is left. */
  stop(): Promise<void>;
}

/** The timer functions, injectable so tests can see every pending timer without waiting for one. */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Runs each job on its own timer. A failing run is logged and the job is scheduled again as usual; other jobs are
 * unaffected. Timers are unref'd: they never keep the process alive.
 */
export function jobTable(jobs: readonly Job[], options: { onError(job: string, error: unknown): void; timers?: Timers }): JobTable {
  const timers = options.timers ?? realTimers;
  const pending = new Map<string, unknown>();
  const running = new Set<Promise<void>>();
  let stopped = true;
  let stopping = new AbortController();

  const schedule = (job: Job) => {
    pending.set(
      job.name,
      timers.set(() => {
        pending.delete(job.name);
        const run = Promise.resolve()
          .then(() => job.run(stopping.signal))
          .then(
            () => undefined,
            (error: unknown) => options.onError(job.name, error),
          )
          .finally(() => {
            running.delete(run);
            if (!stopped) schedule(job);
          });
        running.add(run);
      }, job.intervalMs),
    );
  };

  return {
    jobs,
    start() {
      if (!stopped) return;
      stopped = false;
      stopping = new AbortController();
      for (const job of jobs) schedule(job);
    },
    async stop() {
      stopped = true;
      stopping.abort();
      for (const handle of pending.values()) timers.clear(handle);
      pending.clear();
      await Promise.all(running);
    },
  };
}
