import { context, isSpanContextValid, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';

/** True when the active context has a trace to carry (a client's, or a recorded span of ours). */
const carriesTrace = () => {
  const span = trace.getSpan(context.active());
  return span !== undefined && isSpanContextValid(span.spanContext());
};

type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** `headers`, or a copy with the W3C trace context (`traceparent`, `tracestate`) of the active span when there is one. */
export function withTraceHeaders<T extends Record<string, unknown>>(headers: T): T {
  if (!carriesTrace()) return headers;
  const copy = { ...headers };
  propagation.inject(context.active(), copy);
  return copy;
}

/** A fetch whose requests carry the caller's trace context, so an upstream sees its calls in the client's trace. */
export function withTraceContext(base: FetchLike): FetchLike {
  return (input, init) => {
    if (!carriesTrace()) return base(input, init);
    const headers = new Headers(init?.headers);
    propagation.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
    return base(input, { ...init, headers });
  };
}

/** The trace context a client sent: HTTP headers, else (MCP 2026-07-28) the `_meta` of its request. */
export function clientTraceContext(headers: Record<string, unknown>, meta?: Record<string, unknown>): Context {
  const carrier = typeof headers.traceparent === 'string' ? headers : meta && typeof meta.traceparent === 'string' ? meta : {};
  return propagation.extract(ROOT_CONTEXT, carrier);
}
