import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import { attributeServerRequests, RELATED_REQUEST_KEY, remarkEventStream } from '../../../src/upstream/streamable-http/request-attribution.js';

const encoder = new TextEncoder();

function streamOf(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

/** The messages an SSE client (the parser the SDK uses) reads from `stream`. */
async function messagesOf(stream: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const messages: unknown[] = [];
  const parser = createParser({ onEvent: (event) => void (event.data && messages.push(JSON.parse(event.data))) });
  const decoder = new TextDecoder();
  for await (const chunk of stream) parser.feed(decoder.decode(chunk, { stream: true }));
  return messages;
}

const sampling = (id: number, meta?: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'sampling/createMessage', params: { messages: [], maxTokens: 10, ...(meta ? { _meta: meta } : {}) } });
const progress = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 5 } });
const result = JSON.stringify({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'the "method" of it, naïve ☃' }] } });

describe('request attribution on upstream event streams', () => {
  it('marks a server request with the id of the request whose stream it came on', async () => {
    const messages = await messagesOf(remarkEventStream(streamOf([`event: message\nid: e1\ndata: ${sampling(0)}\n\n`]), 7));
    assert.deepEqual(messages, [JSON.parse(sampling(0, { [RELATED_REQUEST_KEY]: 7 }))]);
  });

  it('marks a request whose event is split across chunks, at any byte, with CRLF line ends', async () => {
    const event = encoder.encode(`id: e1\r\ndata: ${sampling(3)}\r\n\r\n`);
    for (const cut of [1, 5, 20, event.length - 3, event.length - 2, event.length - 1]) {
      const messages = await messagesOf(remarkEventStream(streamOf([event.slice(0, cut), event.slice(cut)]), 'call-1'));
      assert.deepEqual(messages, [JSON.parse(sampling(3, { [RELATED_REQUEST_KEY]: 'call-1' }))], `cut at ${cut}`);
    }
  });

  it('passes every other event through byte for byte, however it is chunked', async () => {
    const original = encoder.encode(`: keep-alive\n\nid: p\nretry: 1000\ndata:\n\nevent: message\ndata: ${progress}\n\ndata: ${result}\r\rdata: {"partial`);
    for (const size of [1, 3, 64, original.length]) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < original.length; at += size) chunks.push(original.slice(at, at + size));
      assert.deepEqual(await bytesOf(remarkEventStream(streamOf(chunks), 7)), Buffer.from(original), `chunks of ${size}`);
    }
  });

  it('replaces a mark the upstream set itself, and removes it where no request of ours is answered', async () => {
    const spoofed = `data: ${sampling(1, { [RELATED_REQUEST_KEY]: 99, other: 'kept' })}\n\n`;
    assert.deepEqual(await messagesOf(remarkEventStream(streamOf([spoofed]), 7)), [JSON.parse(sampling(1, { [RELATED_REQUEST_KEY]: 7, other: 'kept' }))]);
    assert.deepEqual(await messagesOf(remarkEventStream(streamOf([spoofed]), undefined)), [JSON.parse(sampling(1, { other: 'kept' }))]);
  });

  it('sees a mark however the upstream spells it: escaped key, data split over lines, byte order marks in front', async () => {
    const escaped = sampling(1, { [RELATED_REQUEST_KEY]: 99 }).replace('"method"', '"\\u006dethod"').replace('gatehouse/', 'gatehouse\\u002f');
    const multiline = sampling(2, { [RELATED_REQUEST_KEY]: 99 }).replace(',"params"', '\ndata: ,"params"');
    const stream = streamOf(['\uFEFF\uFEFF', `data: ${escaped}\n\ndata:${multiline}\n\n`]);
    assert.deepEqual(await messagesOf(remarkEventStream(stream, undefined)), [
      JSON.parse(sampling(1, {})),
      JSON.parse(sampling(2, {})),
    ]);
  });

  it('leaves a request without a mark untouched on a stream that answers no request of ours', async () => {
    const original = encoder.encode(`data: ${sampling(4)}\n\n`);
    assert.deepEqual(await bytesOf(remarkEventStream(streamOf([original]), undefined)), Buffer.from(original));
  });
});

describe('request attribution in fetch', () => {
  const upstream = (body: string, type: string) => async () => new Response(body, { headers: { 'content-type': type } });
  const post = (id: number) => ({ method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 't' } }) });

  it('marks requests on the event stream of a POSTed request with its id', async () => {
    const response = await attributeServerRequests(upstream(`data: ${sampling(0)}\n\n`, 'text/event-stream; charset=utf-8'))('http://u/mcp', post(12));
    assert.deepEqual(await messagesOf(response.body!), [JSON.parse(sampling(0, { [RELATED_REQUEST_KEY]: 12 }))]);
  });

  it('strips marks from the GET stream and from the response to a notification', async () => {
    const spoofed = `data: ${sampling(0, { [RELATED_REQUEST_KEY]: 12 })}\n\n`;
    const fromGet = await attributeServerRequests(upstream(spoofed, 'text/event-stream'))('http://u/mcp', { method: 'GET' });
    assert.deepEqual(await messagesOf(fromGet.body!), [JSON.parse(sampling(0, {}))]);
    const notification = { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) };
    const fromPost = await attributeServerRequests(upstream(spoofed, 'text/event-stream'))('http://u/mcp', notification);
    assert.deepEqual(await messagesOf(fromPost.body!), [JSON.parse(sampling(0, {}))]);
  });

  it('re-marks requests in a JSON body too, and leaves a plain JSON answer as it is', async () => {
    const batch = `[${sampling(0, { [RELATED_REQUEST_KEY]: 99 })},${result}]`;
    const marked = await attributeServerRequests(upstream(batch, 'application/json'))('http://u/mcp', post(5));
    assert.deepEqual(await marked.json(), [JSON.parse(sampling(0, { [RELATED_REQUEST_KEY]: 5 })), JSON.parse(result)]);
    const plain = await attributeServerRequests(upstream(result, 'application/json'))('http://u/mcp', post(5));
    assert.equal(await plain.text(), result);
  });

  it('leaves other responses alone', async () => {
    const accepted = new Response(null, { status: 202 });
    assert.equal(await attributeServerRequests(async () => accepted)('http://u/mcp', post(1)), accepted);
  });
});

