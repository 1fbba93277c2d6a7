import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setUpTracing } from '../../src/ops/tracing.js';
import { callEcho, CLIENT_SPAN_ID, CLIENT_TRACE_ID, gatewayWithUpstream, traceparentsSeenBy } from './trace-fixture.js';

describe('trace context without an exporter', () => {
  let gateway: Awaited<ReturnType<typeof gatewayWithUpstream>>;
  const tracing = setUpTracing({});
  before(async () => {
    gateway = await gatewayWithUpstream();
  });
  after(() => gateway.close());

  it('records nothing, yet the upstream still receives the client\'s trace', async () => {
    assert.equal(tracing.exporting, false);
    await callEcho(gateway.t.url!, gateway.token, { traceparent: `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`, tracestate: 'vendor=1' });
    const sent = traceparentsSeenBy(gateway.upstream).filter((value) => value.includes(CLIENT_TRACE_ID));
    assert.ok(sent.length > 0, 'the upstream got a traceparent in the client\'s trace');
    assert.ok(sent.every((value) => value === `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`), sent.join(' '));
    assert.ok(gateway.upstream.requests.some((headers) => headers.tracestate === 'vendor=1'));
  });
});
