import { randomBytes } from 'node:crypto';
import { ErrorCode, McpError, type CallToolResult, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { LazyEventStream } from '../direct-tool-calls.js';
import { JsonRpcError } from '../forwarding.js';
import type { SendToClient } from '../upstream-requests.js';

/**
 * A 2026-07-28 `tools/call` that outlives its HTTP request (basic/patterns/mrtr): when the upstream asks the client
 * something (sampling, elicitation) in the middle of the call, the request is answered `input_required` with the
 * question, the upstream call waits ("parked", on this replica, as long as the upstream waits for its answer), and the
 * client's retry with the answer takes it up again: the answer goes to the upstream, and the retry waits for what the
 * call does next (its result, or another question). Progress goes to whichever request waits on the call; closing that
 * request cancels the call. In a fleet, a retry that reaches another replica is forwarded to this one
 * (fleet-call-runs.ts), which is named in the call's `requestState` by `CallRuns.replica`.
 */

/** A question of the upstream for the client, and where its answer goes. */
export interface InputAsk {
  key: string;
  request: { method: string; params?: Record<string, unknown> };
  /** The client's answer (an `inputResponses` entry), checked against the question's result schema. */
  settle(response: unknown): void;
}

export type RunOutcome = { result: CallToolResult } | { error: unknown } | { ask: InputAsk };

/** Where a call stands once a request stops waiting on it: ended, or parked on `replica` until question `key` is answered. */
export type CallStep = { result: CallToolResult } | { error: unknown } | { ask: Pick<InputAsk, 'key' | 'request'>; run: string; replica: string };

/** The parked call a retry continues, as its `requestState` names it. */
export interface ParkedCall {
  run: string;
  key: string;
}

export interface CallRun {
  readonly id: string;
  readonly signal: AbortSignal;
  /** The request now waiting on the call: progress goes to its stream, and its closing cancels the call. */
  attach(stream: LazyEventStream, closed: AbortSignal): void;
  /** Sends a question to the client (the call's `SendToClient`). */
  ask: SendToClient;
  /** The call's result or error, or the next question, whichever comes first. */
  next(): Promise<RunOutcome>;
  /** Sends progress to the waiting request, if any. */
  progress(message: Parameters<LazyEventStream['event']>[0]): void;
  /** Ends the call with `error` for the client, whatever the upstream answers (it is cancelled there). */
  fail(error: unknown): void;
  /** The question the parked call waits on. */
  pending?: InputAsk;
}

export interface CallRuns {
  /** This replica's name in the states of the calls it parks (random per process: a restarted replica holds none). */
  readonly replica: string;
  /** Starts `work` as a run of `userId`'s. */
  start(userId: string, work: (run: CallRun) => Promise<CallToolResult>): CallRun;
  /** Keeps a run that waits for the client's answer until its retry takes it (or the call ends). */
  park(run: CallRun): void;
  /** The parked run `id` of `userId`, no longer parked; undefined when there is none (ended, or on another replica). */
  take(id: string, userId: string): CallRun | undefined;
  readonly size: number;
}

export function callRuns(): CallRuns {
  const parked = new Map<string, { run: CallRun; userId: string }>();
  const owners = new WeakMap<CallRun, string>();
  return {
    replica: randomBytes(9).toString('base64url'),
    get size() {
      return parked.size;
    },
    start(userId, work) {
      const run = newRun(() => parked.delete(run.id));
      owners.set(run, userId);
      run.begin(work);
      return run;
    },
    park(run) {
      const userId = owners.get(run);
      if (userId !== undefined) parked.set(run.id, { run, userId });
    },
    take(id, userId) {
      const entry = parked.get(id);
      if (!entry || entry.userId !== userId) return undefined;
      parked.delete(id);
      return entry.run;
    },
  };
}

/**
 * Waits on `run` for the request (`stream`, `closed`) now attached to it: its result or error, or its next question,
 * for which the run is parked again.
 */
export async function stepOf(runs: CallRuns, run: CallRun, stream: LazyEventStream, closed: AbortSignal): Promise<CallStep> {
  run.attach(stream, closed);
  const outcome = await run.next();
  if (!('ask' in outcome)) return outcome;
  run.pending = outcome.ask;
  runs.park(run);
  return { ask: { key: outcome.ask.key, request: outcome.ask.request }, run: run.id, replica: runs.replica };
}

/** The parked call of `userId` that a retry continues, given the client's answer to its question (-32602 when there is none to give). */
export function resumeRun(runs: CallRuns, parked: ParkedCall, userId: string, inputResponses: unknown): CallRun {
  const run = runs.take(parked.run, userId);
  if (!run?.pending || run.pending.key !== parked.key) {
    throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: the call this requestState continues is no longer waiting (it ended or timed out); call the tool again');
  }
  const answer = (inputResponses as Record<string, unknown> | undefined)?.[run.pending.key];
  if (answer === undefined) {
    runs.park(run);
    throw new JsonRpcError(ErrorCode.InvalidParams, `Invalid params: inputResponses holds no answer to "${run.pending.key}"`);
  }
  const question = run.pending;
  run.pending = undefined;
  question.settle(answer);
  return run;
}

function newRun(ended: () => void): CallRun & { begin(work: (run: CallRun) => Promise<CallToolResult>): void } {
  const controller = new AbortController();
  const questions: InputAsk[] = [];
  let wake: (() => void) | undefined;
  let outcome: Promise<RunOutcome> | undefined;
  let stream: LazyEventStream | undefined;
  let asked = 0;
  let failure: { error: unknown } | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const run = {
    id: randomBytes(12).toString('base64url'),
    signal: controller.signal,
    begin(work: (run: CallRun) => Promise<CallToolResult>) {
      outcome = work(run).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      void outcome.finally(() => {
        ended();
        notify();
      });
    },
    attach(next: LazyEventStream, closed: AbortSignal) {
      stream = next;
      closed.addEventListener('abort', () => controller.abort(closed.reason), { once: true });
    },
    progress(message: Parameters<LazyEventStream['event']>[0]) {
      stream?.event(message);
    },
    fail(error: unknown) {
      failure ??= { error };
      controller.abort(error);
    },
    pending: undefined as InputAsk | undefined,
    ask: ((request, schema, options) =>
      new Promise<Result>((resolve, reject) => {
        const fail = (error: unknown) => {
          clearTimeout(timer);
          const index = questions.indexOf(question);
          if (index >= 0) questions.splice(index, 1);
          reject(error);
        };
        const timer = options.timeout === undefined ? undefined : setTimeout(() => fail(new McpError(ErrorCode.RequestTimeout, 'The client did not answer in time')), options.timeout);
        options.signal?.addEventListener('abort', () => fail(options.signal?.reason), { once: true });
        const question: InputAsk = {
          key: `input-${++asked}`,
          request: { method: request.method, ...(request.params === undefined ? {} : { params: request.params as Record<string, unknown> }) },
          settle(response) {
            clearTimeout(timer);
            const parsed = schema.safeParse(response);
            if (parsed.success) resolve(parsed.data);
            else reject(new McpError(ErrorCode.InvalidParams, `The client's answer to ${request.method} is not valid`));
          },
        };
        questions.push(question);
        notify();
      })) as SendToClient,
    async next(): Promise<RunOutcome> {
      for (;;) {
        const question = questions.shift();
        if (question) return { ask: question };
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const settled = await Promise.race([outcome!, woken.then(() => undefined)]);
        if (settled && questions.length === 0) return failure ?? settled;
      }
    },
  };
  return run;
}
