import { randomBytes } from 'node:crypto';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Notifications } from '../../store/index.js';
import { errorOf, type LazyEventStream } from '../direct-tool-calls.js';
import { JsonRpcError } from '../forwarding.js';
import { resumeRun, stepOf, type CallRuns, type CallStep, type ParkedCall } from './call-runs.js';

/**
 * Parked calls (call-runs.ts) across the replicas of a fleet. A call stays parked on the replica that runs it (its
 * upstream connection waits there), and its `requestState` names that replica. A retry the balancer brings to another
 * replica is forwarded to the holder through the fleet's notifications (store/notifications.ts, any size), as a
 * session's answers are (fleet-sessions.ts `relayAnswers`): the holder hands the client's answers to the call and
 * sends back its progress and its next step (result, error, or next question); the forwarding replica answers the
 * client with them. The holder says it is still at work every few seconds: a retry that hears nothing from it for
 * HOLDER_SILENCE_MS (the holder died, or lost the fleet) gets an error result telling the client to call the tool
 * again. Closing the retry's request cancels the call on the holder.
 */

/** The channel of forwarded retries and of the holders' answers to them. */
const CALL_RUNS_CHANNEL = 'mcp_call_runs';
/** How long a forwarded retry waits without a word from the holder before taking it for gone. */
const HOLDER_SILENCE_MS = 6_000;
/** How often the holder says it is still at work on a forwarded retry (well within HOLDER_SILENCE_MS). */
const ALIVE_EVERY_MS = 2_000;

/** What a retry whose holder is gone gets: not the client's mistake, and it can do nothing but start over. */
const INTERRUPTED: CallStep = {
  result: {
    isError: true,
    content: [{ type: 'text', text: 'The call was interrupted: the Gatehouse replica running it is gone (restarted or stopped). Call the tool again.' }],
  },
};

const WireStep = z.union([
  z.object({ result: z.looseObject({ content: z.array(z.looseObject({})) }) }),
  z.object({ error: z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() }) }),
  z.object({
    ask: z.object({ key: z.string(), request: z.object({ method: z.string(), params: z.record(z.string(), z.unknown()).optional() }) }),
    run: z.string(),
    replica: z.string(),
  }),
]);

const Message = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('input'), to: z.string(), from: z.string(), exchange: z.string(), run: z.string(), key: z.string(), userId: z.string(), inputResponses: z.unknown() }),
  z.object({ kind: z.literal('cancel'), to: z.string(), exchange: z.string() }),
  z.object({ kind: z.literal('alive'), to: z.string(), exchange: z.string() }),
  z.object({ kind: z.literal('progress'), to: z.string(), exchange: z.string(), message: z.looseObject({ jsonrpc: z.literal('2.0'), method: z.string() }) }),
  z.object({ kind: z.literal('step'), to: z.string(), exchange: z.string(), step: WireStep }),
]);
type Message = z.infer<typeof Message>;
type ToForwarder = Extract<Message, { kind: 'alive' | 'progress' | 'step' }>;

export interface FleetCallRuns {
  /**
   * Continues the call `parked` on replica `holder` with the client's answers: the holder's progress goes to
   * `stream`, and its next step is returned (INTERRUPTED when the holder is gone). `closed` cancels the call.
   */
  continueOn(holder: string, parked: ParkedCall, userId: string, inputResponses: unknown, stream: LazyEventStream, closed: AbortSignal): Promise<CallStep>;
  /** Stops serving forwarded retries and ends the waiting ones (the app closes). */
  stop(): void;
}

export function fleetCallRuns(
  runs: CallRuns,
  notifications: Pick<Notifications, 'publish' | 'subscribe'>,
  onFault: (error: unknown) => void,
): FleetCallRuns {
  /** Forwarded retries this replica serves as the holder, by exchange: closing one cancels its call. */
  const serving = new Map<string, AbortController>();
  /** Retries this replica forwarded, by exchange. */
  const forwarded = new Map<string, { heard(message: ToForwarder): void; finish(step: CallStep): void }>();
  /**
   * The messages of one exchange, published one after the other: the pool's connections would otherwise let a later
   * one (the step) overtake an earlier one (its progress). A failed one is reported, and the others still go.
   */
  const exchangeMessages = () => {
    let sent = Promise.resolve();
    return (message: Message) => (sent = sent.then(() => notifications.publish(CALL_RUNS_CHANNEL, message)).catch(onFault));
  };

  async function serve(input: Extract<Message, { kind: 'input' }>): Promise<void> {
    const { from: to, exchange } = input;
    const send = exchangeMessages();
    const reply = (message: { kind: 'alive' } | { kind: 'progress'; message: JSONRPCMessage } | { kind: 'step'; step: z.infer<typeof WireStep> }) =>
      send({ to, exchange, ...message } as Message);
    const closed = new AbortController();
    serving.set(exchange, closed);
    const alive = setInterval(() => void reply({ kind: 'alive' }), ALIVE_EVERY_MS);
    const stream: LazyEventStream = { event: (message) => void reply({ kind: 'progress', message }), end: () => undefined, open: () => !closed.signal.aborted };
    let step: CallStep;
    try {
      step = await stepOf(runs, resumeRun(runs, input, input.userId, input.inputResponses), stream, closed.signal);
    } catch (error) {
      step = { error };
    } finally {
      clearInterval(alive);
      serving.delete(exchange);
    }
    // Closed by the forwarder (which no longer listens) or by this replica's shutdown (the forwarder must start over).
    if (closed.signal.aborted) step = INTERRUPTED;
    await reply({ kind: 'step', step: 'error' in step ? { error: errorOf(step.error, onFault) } : (step as z.infer<typeof WireStep>) });
  }

  const unsubscribe = notifications.subscribe(CALL_RUNS_CHANNEL, (payload) => {
    const parsed = Message.safeParse(payload);
    if (!parsed.success || parsed.data.to !== runs.replica) return;
    const message = parsed.data;
    if (message.kind === 'input') void serve(message);
    else if (message.kind === 'cancel') serving.get(message.exchange)?.abort('the client closed the stream');
    else forwarded.get(message.exchange)?.heard(message);
  });

  return {
    continueOn(holder, parked, userId, inputResponses, stream, closed) {
      const exchange = randomBytes(12).toString('base64url');
      const send = exchangeMessages();
      return new Promise<CallStep>((resolve) => {
        let silence: NodeJS.Timeout | undefined;
        const waitForHolder = () => {
          clearTimeout(silence);
          silence = setTimeout(() => finish(INTERRUPTED), HOLDER_SILENCE_MS);
        };
        const cancel = () => {
          void send({ kind: 'cancel', to: holder, exchange });
          finish({ error: closed.reason });
        };
        const finish = (step: CallStep) => {
          clearTimeout(silence);
          forwarded.delete(exchange);
          closed.removeEventListener('abort', cancel);
          resolve(step);
        };
        forwarded.set(exchange, {
          finish,
          heard(message) {
            waitForHolder();
            if (message.kind === 'progress') stream.event(message.message as JSONRPCMessage);
            else if (message.kind === 'step') finish(received(message.step));
          },
        });
        closed.addEventListener('abort', cancel, { once: true });
        waitForHolder();
        void send({ kind: 'input', to: holder, from: runs.replica, exchange, run: parked.run, key: parked.key, userId, inputResponses });
      });
    },
    stop() {
      unsubscribe();
      for (const closed of serving.values()) closed.abort('Gatehouse is shutting down');
      for (const { finish } of [...forwarded.values()]) finish(INTERRUPTED);
    },
  };
}

/** A step as the holder sent it: its error a JSON-RPC error again, for the client. */
function received(step: z.infer<typeof WireStep>): CallStep {
  if ('error' in step) return { error: new JsonRpcError(step.error.code, step.error.message, step.error.data) };
  return step as CallStep;
}
