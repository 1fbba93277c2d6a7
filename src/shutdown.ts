import type { FastifyBaseLogger } from 'fastify';

/** One step of the close sequence; its name says where a shutdown that ran out of time was stuck. */
export interface CloseStep {
  readonly name: string;
  run(): Promise<unknown>;
}

type ShutdownLog = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

/**
 * Runs the steps in order; a failed step is logged and the later ones still run (the database closes even when an
 * upstream would not). Resolves true when every step succeeded. `onStep` hears each step's name as it starts.
 */
export async function runCloseSteps(steps: readonly CloseStep[], log: ShutdownLog, onStep: (name: string) => void = () => undefined): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    onStep(step.name);
    try {
      await step.run();
    } catch (error) {
      clean = false;
      log.error({ err: error, step: step.name }, `shutdown step failed: ${step.name}`);
    }
  }
  return clean;
}

export interface ShutdownHooks {
  log: ShutdownLog;
  /** Flushes the log; runs last, after the final log line, under the same deadline. */
  flushLogs(): Promise<void>;
  exit(code: number): void;
  /** One line for the operator that is never waited for: the log may be what is stuck. */
  tellOperator(text: string): void;
  /** Starts the deadline; returns its cancel. A real timer in the server, driven by hand in tests. */
  startDeadline(ms: number, expired: () => void): () => void;
}

const FLUSHING_LOGS = 'flush logs';

/**
 * The signal handler of `gatehouse serve`. The first signal runs the close sequence and flushes the log, then exits
 * 0 (1 when a step failed). At the deadline whatever is still pending is abandoned: exit 1, saying so on stderr. A
 * second signal exits 1 at once.
 */
export function gracefulShutdown(steps: readonly CloseStep[], timeoutMs: number, hooks: ShutdownHooks): (signal: NodeJS.Signals) => void {
  const { log } = hooks;
  let pendingStep: string | undefined;
  let exited = false;
  let cancelDeadline = (): void => undefined;
  const exitOnce = (code: number) => {
    if (exited) return;
    exited = true;
    cancelDeadline();
    hooks.exit(code);
  };
  const abandon = (why: string) => {
    hooks.tellOperator(`gatehouse: ${why}; exiting with code 1\n`);
    log.error({ pendingStep }, why);
    exitOnce(1);
  };

  return (signal) => {
    if (pendingStep !== undefined) {
      abandon(`second signal (${signal}) while shutting down (at: ${pendingStep})`);
      return;
    }
    pendingStep = steps[0]?.name ?? FLUSHING_LOGS;
    log.info({ signal, timeoutSeconds: timeoutMs / 1000 }, 'shutting down: no new connections, finishing requests in flight');
    cancelDeadline = hooks.startDeadline(timeoutMs, () => abandon(`shutdown did not finish within ${timeoutMs / 1000} s (at: ${pendingStep})`));
    void (async () => {
      const clean = await runCloseSteps(steps, log, (name) => (pendingStep = name));
      pendingStep = FLUSHING_LOGS;
      if (clean) log.info('shut down cleanly');
      await hooks.flushLogs();
      exitOnce(clean ? 0 : 1);
    })();
  };
}
