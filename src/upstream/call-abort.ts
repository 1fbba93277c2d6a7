/** An `abort` listener: a function, or (as EventTarget takes too) an object whose `handleEvent` is called. */
export type AbortListener = (() => void) | { handleEvent(): void };

/**
 * An AbortController for one call whose AbortSignal is made only when something asks for one. Making a signal and
 * adding and removing its `abort` listener cost ~3.5 µs per `tools/call` (bench/README.md), and the direct
 * Streamable HTTP path (streamable-http/direct-requests.ts) only needs to hear of the abort, which a CallAbort tells
 * its own listeners. What takes an AbortSignal (the SDK's path, stdio, stateless upstreams) gets `signal`, which
 * follows the call's abort whenever it is made.
 */
export class CallAbort {
  aborted = false;
  reason: unknown = undefined;
  private controller?: AbortController;
  private listeners?: AbortListener[];

  /** The AbortSignal of this call, made on first use (already aborted if the call is). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** As AbortController's: the reason defaults to an AbortError; listeners hear of it once, a second abort changes nothing. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.controller?.abort(this.reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) {
      if (typeof listener === 'function') listener();
      else listener.handleEvent();
    }
  }

  /** As an AbortSignal's, for `abort` listeners: each is called once, and none that is added after the abort. */
  addEventListener(_type: 'abort', listener: AbortListener, _options?: { once?: boolean }): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners!.splice(at, 1);
  }
}

/** What a request to an upstream is cancelled through. */
export type RequestSignal = AbortSignal | CallAbort;

/** An AbortSignal for what needs one. */
export const abortSignalOf = (signal: RequestSignal): AbortSignal => (signal instanceof CallAbort ? signal.signal : signal);
