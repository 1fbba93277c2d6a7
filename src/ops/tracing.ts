import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { clientTraceContext } from '../http/trace-context.js';
import { VERSION } from '../version.js';

export const tracer = () => trace.getTracer('gatehouse', VERSION);

/**
 * Whether a span processor is installed (setUpTracing), as process-wide as OpenTelemetry's own tracer provider.
 * Without one a span records nothing and carries only its parent's trace, so the hot paths skip making it
 * (startSpan looks up the provider and makes a tracer and a span each time, several per /mcp request).
 */
let spansRecorded = false;

export interface Tracing {
  /** True when spans are recorded and exported (an OTLP endpoint is configured). */
  exporting: boolean;
  /** Exports what is pending and stops; bounded by the caller's shutdown deadline. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry for the process. The W3C trace context is always propagated (taken from clients, sent on to
 * upstreams), exporter or not; spans are recorded and exported only when the standard variables name an OTLP
 * endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` turns
 * it off). The exporter reads the other `OTEL_*` variables itself (headers, timeout, protocol details).
 */
export function setUpTracing(env: NodeJS.ProcessEnv, processor?: SpanProcessor): Tracing {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const configured = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const spanProcessor = processor ?? (configured && env.OTEL_SDK_DISABLED !== 'true' ? new BatchSpanProcessor(new OTLPTraceExporter()) : undefined);
  if (!spanProcessor) return { exporting: false, shutdown: async () => undefined };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'gatehouse', 'service.version': VERSION }),
    spanProcessors: [spanProcessor],
  });
  trace.setGlobalTracerProvider(provider);
  spansRecorded = true;
  return { exporting: true, shutdown: () => provider.shutdown() };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The context that makes this HTTP request's span (a non-recording one while nothing exports) the active one. */
    traceContext: Context | null;
  }
}

/**
 * Starts the server span of an HTTP request, child of the client's `traceparent`, ended when its response closes;
 * answers the context to run the request in, or undefined when nothing records and the client sent no trace (there
 * is then no context to carry, so the request costs nothing more). Used by the hook below and by the handlers that
 * serve outside Fastify (http/raw-routes.ts).
 */
export function startRequestSpan(
  request: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  response: ServerResponse,
  route: string | undefined,
): Context | undefined {
  // Nothing records and the client sent no trace: there is no context to carry.
  if (!spansRecorded && typeof request.headers.traceparent !== 'string') return undefined;
  const parent = clientTraceContext(request.headers);
  const method = request.method ?? 'GET';
  const span = tracer().startSpan(`${method} ${route ?? 'unmatched'}`, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': method, 'url.path': (request.url ?? '/').split('?')[0]! },
  }, parent);
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return undefined;
  // On the socket's response, not in onResponse: /mcp writes its own responses.
  if (span.isRecording()) {
    response.once('close', () => {
      const status = response.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (route) span.setAttribute('http.route', route);
      if (status >= 500 || !response.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  }
  return trace.setSpan(parent, span);
}

/**
 * A server span per HTTP request (startRequestSpan); the rest of the request runs in its context, so spans and
 * upstream calls made while answering it join the client's trace.
 */
export const requestTracing: FastifyPluginAsync = async (app: FastifyInstance) => {
  app.decorateRequest('traceContext', null);
  app.addHook('onRequest', (request, reply, done) => {
    const traceContext = startRequestSpan(request.raw, reply.raw, request.routeOptions.url);
    if (!traceContext) return done();
    request.traceContext = traceContext;
    // Continuing the hook chain inside the context makes it the active one for what the hooks await.
    context.with(traceContext, done);
  });
  // Reading the body continues from the socket's events, outside that context: the handler is entered in it again.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.traceContext) context.with(request.traceContext, done);
    else done();
  });
};
(requestTracing as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** Whether `inSpan` under `parent` (absent: the active context) would make a span: something records, or the parent carries a trace. */
export function spanWanted(parent?: Context): boolean {
  if (spansRecorded) return true;
  // No span in the context (every call without a trace): nothing to validate (the invalid context's ids, by regex).
  const spanContext = trace.getSpanContext(parent ?? context.active());
  return spanContext !== undefined && isSpanContextValid(spanContext);
}

/**
 * Runs `work` in a child span of the active one, ending it with the outcome; errors are recorded and rethrown. When
 * nothing records and no trace is carried, there is no context to make active and `work` runs as it is: entering a
 * context (AsyncLocalStorage) turns on Node's promise hooks, a cost on every promise of the process from then on.
 */
export function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: () => Promise<T>,
  options: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  // What the check below would find, without making the span: nothing records and the parent carries no trace.
  if (!spanWanted(parent)) return work();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes }, parent);
  // Not an async function: `work`'s own promise is returned, not wrapped in another (each wrap costs turns of the microtask queue).
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return work();
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
