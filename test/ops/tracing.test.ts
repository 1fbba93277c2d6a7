import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setUpTracing } from '../../src/ops/tracing.js';
import { waitFor } from '../helpers/wait-for.js';
import { callEcho, CLIENT_SPAN_ID, CLIENT_TRACE_ID, gatewayWithUpstream, traceparentsSeenBy } from './trace-fixture.js';

// One process per test file: the tracer provider registered here is this file's alone.
const exporter = new InMemorySpanExporter();
setUpTracing({}, new SimpleSpanProcessor(exporter));

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing with an exporter', () => {
  let gateway: Awaited<ReturnType<typeof gatewayWithUpstream>>;
  before(async () => {
    gateway = await gatewayWithUpstream();
  });
  after(() => gateway.close());

  it('a tool call joins the client\'s trace: HTTP span under the client\'s, the MCP method and the upstream call under it, and the upstream gets the trace', async () => {
    exporter.reset();
    await callEcho(gateway.t.url!, gateway.token, { traceparent: `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01` });
    // The HTTP span ends when its response has closed, which may be just after the client has its answer.
    const httpSpans = () => exporter.getFinishedSpans().filter((span) => span.name === 'POST /mcp' && span.spanContext().traceId === CLIENT_TRACE_ID);
    const mcpCall = () => exporter.getFinishedSpans().find((span) => span.name === 'MCP tools/call');
    await waitFor('the HTTP span of the call', () => (httpSpans().some((span) => span.spanContext().spanId === mcpCall()?.parentSpanContext?.spanId) ? true : undefined));
    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === CLIENT_TRACE_ID);
    const call = spans.find((span) => span.name === 'MCP tools/call');
    assert.ok(call, spans.map((span) => span.name).join(', '));
    assert.equal(call.attributes['gen_ai.tool.name'], 'tickets_echo');
    const http = spans.find((span) => span.spanContext().spanId === parentOf(call));
    assert.ok(http && http.name === 'POST /mcp', 'the MCP span is a child of the HTTP request span');
    assert.equal(parentOf(http), CLIENT_SPAN_ID, 'the HTTP span is a child of the client span');
    assert.equal(http.attributes['http.response.status_code'], 200);
    const upstreamCall = spans.find((span) => span.name === 'upstream tickets tools/call');
    assert.ok(upstreamCall);
    assert.equal(parentOf(upstreamCall), call.spanContext().spanId);
    const expected = `00-${CLIENT_TRACE_ID}-${upstreamCall.spanContext().spanId}-01`;
    assert.ok(traceparentsSeenBy(gateway.upstream).includes(expected), 'the upstream sees the gateway\'s upstream-call span as the parent of the call');
  });

  it('a client that sends its trace context in _meta (MCP 2026-07-28) gets the MCP span in its trace', async () => {
    exporter.reset();
    const traceId = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    await callEcho(gateway.t.url!, gateway.token, {}, { traceparent: `00-${traceId}-bbbbbbbbbbbbbbbb-01` });
    const call = exporter.getFinishedSpans().find((span) => span.name === 'MCP tools/call');
    assert.ok(call);
    assert.equal(call.spanContext().traceId, traceId);
    assert.equal(parentOf(call), 'bbbbbbbbbbbbbbbb');
  });

  it('the token endpoint has a span per token request, with the grant type, under the request\'s server span (its front door)', async () => {
    exporter.reset();
    const { obtainAccessToken } = await import('../helpers/mcp-session.js');
    const { TEST_ADMIN_PASSWORD } = await import('../helpers/app.js');
    await obtainAccessToken(gateway.t.url!, { username: 'admin', password: TEST_ADMIN_PASSWORD });
    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'oauth token');
    assert.equal(spans.length, 1);
    assert.equal(spans[0]!.attributes['oauth.grant_type'], 'authorization_code');
    // The grant runs after the body was read, from the socket's events: still in the request's context.
    const request = exporter.getFinishedSpans().find((span) => span.name === 'POST /oauth/token');
    assert.equal(request?.attributes['http.route'], '/oauth/token');
    assert.equal(parentOf(spans[0]!), request!.spanContext().spanId);
  });
});
