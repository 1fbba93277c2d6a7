import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  EmptyResultSchema,
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  isInitializeRequest,
  type CallToolResult,
  type JSONRPCMessage,
  type Progress,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { directRequests, type DirectRequestHooks, type DirectRequests } from '../../../src/upstream/streamable-http/direct-requests.js';
import type { BearerSource } from '../../../src/upstream/oauth/bearer-fetch.js';

/**
 * The direct client against real SDK upstreams over node:http: each test starts an upstream, connects a real SDK
 * client to it (whose session and transport the direct client reuses) and sends tools/call directly.
 */

type Json = Record<string, unknown>;

/** What the upstream's tools did, in order, and a way to wait until one of them did something. */
class Journal {
  readonly entries: string[] = [];
  private waiters: Array<{ entry: string; resolve: () => void }> = [];
  add(entry: string) {
    this.entries.push(entry);
    this.waiters = this.waiters.filter((waiter) => (waiter.entry === entry ? (waiter.resolve(), false) : true));
  }
  reached(entry: string): Promise<void> {
    if (this.entries.includes(entry)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ entry, resolve }));
  }
}

/** An event store that keeps events in the order they were stored (the SDK's example one sorts random ids). */
function orderedEventStore(): EventStore {
  const events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];
  return {
    async storeEvent(streamId, message) {
      const id = `${streamId}:${events.length}`;
      events.push({ id, streamId, message });
      return id;
    },
    async getStreamIdForEventId(eventId) {
      return events.find((event) => event.id === eventId)?.streamId;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const index = events.findIndex((event) => event.id === lastEventId);
      const streamId = events[index]?.streamId ?? '';
      for (const event of events.slice(index + 1)) if (event.streamId === streamId) await send(event.id, event.message);
      return streamId;
    },
  };
}

const sampling = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'hi' } }], maxTokens: 5 };
const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const textOf = (result: Result) => ((result as CallToolResult).content[0] as { text: string }).text;
const describeError = (error: unknown) => {
  const { code, message, data } = error as McpError;
  return `${code} ${message}${data === undefined ? '' : ` ${JSON.stringify(data)}`}`;
};

/** The upstream's MCP server: tools that exercise every part of a call. */
function upstreamServer(journal: Journal): Server {
  const server = new Server({ name: 'upstream', version: '1' }, { capabilities: { tools: {}, logging: {} } });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const args = request.params.arguments ?? {};
    const progressToken = extra._meta?.progressToken;
    const progress = async (value: number) => {
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: value, total: 3, message: `step ${value}` } });
      }
    };
    switch (request.params.name) {
      case 'echo':
        return text(JSON.stringify({ said: args.text, meta: request.params._meta ?? null }));
      case 'broken':
        return { content: [{ type: 'text', text: 'it broke' }], isError: true };
      case 'progress':
        for (const value of [1, 2, 3]) await progress(value);
        return text('counted');
      case 'log':
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'from the tool' } });
        return text('logged');
      case 'sample': {
        const outcomes: string[] = [];
        await extra.sendRequest({ method: 'ping' }, EmptyResultSchema).then(
          () => outcomes.push('ping ok'),
          (error) => outcomes.push(`ping ${describeError(error)}`),
        );
        await extra
          .sendRequest({ method: 'sampling/createMessage', params: { ...sampling, _meta: { progressToken: 'upstream-token', keep: 1 } } }, CreateMessageResultSchema)
          .then(
            (result) => outcomes.push(`answered ${(result.content as { text: string }).text}`),
            (error) => outcomes.push(`refused ${describeError(error)}`),
          );
        await extra.sendRequest({ method: 'x/unknown' } as never, EmptyResultSchema).catch((error) => outcomes.push(`unknown ${(error as McpError).code}`));
        return text(outcomes.join('; '));
      }
      case 'impatient': {
        const outcome = await extra
          .sendRequest({ method: 'sampling/createMessage', params: sampling }, CreateMessageResultSchema, { timeout: 30 })
          .then(() => 'answered', (error) => describeError(error));
        return text(outcome);
      }
      case 'wait':
        journal.add('waiting');
        await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
        journal.add('aborted');
        return text('aborted');
      case 'poll': {
        if (!extra.closeSSEStream) throw new Error('resumability is not on');
        await progress(1);
        extra.closeSSEStream();
        await progress(2);
        return text('resumed');
      }
      default:
        throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    }
  });
  return server;
}

interface UpstreamOptions {
  json?: boolean;
  stateless?: boolean;
  resumable?: boolean;
  /** Answers a request itself (returns true) before the MCP transport sees it. */
  gate?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  body: Json | undefined;
  /** The client's port: the same one for requests on one kept-alive connection. */
  port: number | undefined;
}

async function startUpstream(options: UpstreamOptions = {}) {
  const journal = new Journal();
  const received: Received[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    if (options.gate?.(req, res)) return;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json) : undefined;
    received.push({ method: req.method ?? '', headers: req.headers, body, port: req.socket.remotePort });
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (!transport) {
      if (!options.stateless && !isInitializeRequest(body)) return void res.writeHead(404).end('no such session');
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: options.stateless ? undefined : () => randomUUID(),
        enableJsonResponse: options.json,
        ...(options.resumable ? { eventStore: orderedEventStore(), retryInterval: 5 } : {}),
        onsessioninitialized: (id) => void sessions.set(id, created),
      });
      await upstreamServer(journal).connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  return {
    url,
    journal,
    received,
    /** The tools/call requests the upstream got, in order. */
    calls: () => received.filter((request) => request.body?.method === 'tools/call'),
    async stop() {
      await Promise.all([...sessions.values()].map((transport) => transport.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

/** A real SDK client connected to `upstream`, and a direct client on its session; everything is closed after the test file. */
async function connect(upstream: Upstream, extra: { bearer?: BearerSource; headers?: Record<string, string> } = {}) {
  const client = new Client({ name: 'gateway', version: '1' }, { capabilities: { sampling: {}, elicitation: {} } });
  const transport = new StreamableHTTPClientTransport(upstream.url, { requestInit: { headers: extra.headers } });
  await client.connect(transport);
  const errors: Error[] = [];
  const onerror = transport.onerror;
  transport.onerror = (error) => {
    errors.push(error);
    onerror?.(error);
  };
  const direct = directRequests({ url: upstream.url, headers: extra.headers ?? {}, bearer: extra.bearer, transport });
  cleanups.push(async () => {
    direct.close();
    await client.close();
    await upstream.stop();
  });
  return { client, transport, direct, errors };
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup().catch(() => undefined)));
});

const refuseRelay: DirectRequestHooks['onServerRequest'] = async () => {
  throw new Error('no server requests expected');
};
const hooks = (more: Partial<DirectRequestHooks> = {}): DirectRequestHooks => ({
  signal: new AbortController().signal,
  timeoutMs: 10_000,
  onServerRequest: refuseRelay,
  ...more,
});
const call = (direct: DirectRequests, name: string, args: Json = {}, more: Partial<DirectRequestHooks> = {}) =>
  direct.request({ method: 'tools/call', params: { name, arguments: args } }, hooks(more));

describe('direct requests on an upstream session', () => {
  it('send a call on the SDK client’s session and read its answer from an event stream', async () => {
    const upstream = await startUpstream();
    const { direct, transport } = await connect(upstream);
    const result = await call(direct, 'echo', { text: 'hello' });
    assert.deepEqual(JSON.parse(textOf(result)), { said: 'hello', meta: null });
    const [sent] = upstream.calls();
    assert.ok(sent && transport.sessionId);
    assert.equal(sent.headers['mcp-session-id'], transport.sessionId);
    assert.equal(sent.headers['mcp-protocol-version'], transport.protocolVersion);
    assert.equal(sent.headers['content-type'], 'application/json');
    assert.equal(sent.headers.accept, 'application/json, text/event-stream');
    assert.match(String(sent.body?.id), /^gatehouse-\d+$/);
    assert.equal(Number(sent.headers['content-length']), Buffer.byteLength(JSON.stringify(sent.body)));
  });

  it('send later calls on the same kept-alive connection', async () => {
    const upstream = await startUpstream();
    const { direct } = await connect(upstream);
    for (const value of ['one', 'two', 'three']) assert.equal(JSON.parse(textOf(await call(direct, 'echo', { text: value }))).said, value);
    const calls = upstream.calls();
    assert.equal(new Set(calls.map((request) => request.body?.id)).size, 3);
    assert.equal(new Set(calls.map((request) => request.port)).size, 1);
  });

  it('read an answer sent as JSON, on a session and from a stateless upstream that has none', async () => {
    for (const stateless of [false, true]) {
      const upstream = await startUpstream({ json: true, stateless });
      const { direct, transport } = await connect(upstream);
      const result = await call(direct, 'echo', { text: 'json' });
      assert.equal(JSON.parse(textOf(result)).said, 'json');
      const [sent] = upstream.calls();
      assert.equal(sent?.headers['mcp-session-id'], stateless ? undefined : transport.sessionId);
      assert.equal(transport.sessionId === undefined, stateless);
    }
  });

  it('resolve a tool’s error result and reject a JSON-RPC error as an McpError with the upstream’s code', async () => {
    const { direct } = await connect(await startUpstream());
    const result = (await call(direct, 'broken')) as CallToolResult;
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'it broke');
    await assert.rejects(call(direct, 'nonexistent'), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, ErrorCode.InvalidParams);
      assert.match(error.message, /Tool nonexistent not found/);
      return true;
    });
  });

  it('deliver progress in order before the result under its own token, keeping the caller’s other _meta', async () => {
    const { direct } = await connect(await startUpstream());
    const seen: Array<Progress | string> = [];
    const result = await direct
      .request({ method: 'tools/call', params: { name: 'progress', _meta: { trace: 'abc' } } }, hooks({ onProgress: (progress) => void seen.push(progress) }))
      .then((answer) => (seen.push(textOf(answer)), answer));
    assert.equal(textOf(result), 'counted');
    assert.deepEqual(seen, [
      { progress: 1, total: 3, message: 'step 1' },
      { progress: 2, total: 3, message: 'step 2' },
      { progress: 3, total: 3, message: 'step 3' },
      'counted',
    ]);
    const echoed = JSON.parse(textOf(await direct.request({ method: 'tools/call', params: { name: 'echo', _meta: { trace: 'abc' } } }, hooks({ onProgress: () => undefined }))));
    assert.equal(echoed.meta.trace, 'abc');
    assert.match(echoed.meta.progressToken, /^gatehouse-\d+$/);
  });

  it('send no progress token when no progress is asked for', async () => {
    const { direct } = await connect(await startUpstream());
    const echoed = JSON.parse(textOf(await direct.request({ method: 'tools/call', params: { name: 'echo', _meta: { trace: 'abc' } } }, hooks())));
    assert.deepEqual(echoed.meta, { trace: 'abc' });
    assert.equal(textOf(await call(direct, 'progress')), 'counted');
  });

  it('relay the upstream’s sampling request to the caller without its progress token, answer pings and refuse unknown methods', async () => {
    const { direct } = await connect(await startUpstream());
    const relayed: unknown[] = [];
    const result = await call(direct, 'sample', {}, {
      onServerRequest: async (request, signal) => {
        relayed.push(request);
        assert.equal(signal.aborted, false);
        return { role: 'assistant', model: 'm', content: { type: 'text', text: 'from downstream' } };
      },
    });
    assert.equal(textOf(result), `ping ok; answered from downstream; unknown ${ErrorCode.MethodNotFound}`);
    assert.deepEqual(relayed, [{ method: 'sampling/createMessage', params: { ...sampling, _meta: { keep: 1 } } }]);
  });

  it('answer a relay’s JSON-RPC error with its code, message and data, and anything else as an internal error', async () => {
    const { direct } = await connect(await startUpstream());
    const refusing = (error: unknown) => call(direct, 'sample', {}, { onServerRequest: async () => Promise.reject(error) });
    const jsonRpcError = Object.assign(new Error('no model here'), { code: -32050, data: { why: 'none' } });
    assert.match(textOf(await refusing(jsonRpcError)), /refused -32050 MCP error -32050: no model here \{"why":"none"\}/);
    assert.match(textOf(await refusing(new McpError(-32051, 'prefixed once'))), /refused -32051 MCP error -32051: prefixed once;/);
    assert.match(textOf(await refusing(new Error('secret detail'))), /refused -32603 MCP error -32603: Internal error;/);
  });

  it('abort a relayed request the upstream cancels, and send it no answer', async () => {
    const upstream = await startUpstream();
    const { direct } = await connect(upstream);
    const reasons: string[] = [];
    const result = await call(direct, 'impatient', {}, {
      onServerRequest: (_request, signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            reasons.push((signal.reason as Error).message);
            reject(new Error('given up'));
          }),
        ),
    });
    assert.match(textOf(result), /^-32001 MCP error -32001: Request timed out/);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0] ?? '', /Request timed out/);
    const answers = upstream.received.filter((request) => request.body !== undefined && !('method' in request.body));
    assert.deepEqual(answers, []);
  });

  it('hand notifications other than its progress to the SDK client, which relays log messages', async () => {
    const { client, direct } = await connect(await startUpstream());
    const logged: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logged.push(notification.params));
    assert.equal(textOf(await call(direct, 'log')), 'logged');
    assert.deepEqual(logged, [{ level: 'info', data: 'from the tool' }]);
  });

  it('cancel the call upstream when the signal aborts, and reject with the signal’s reason', async () => {
    const upstream = await startUpstream();
    const { direct, errors } = await connect(upstream);
    const controller = new AbortController();
    const pending = call(direct, 'wait', {}, { signal: controller.signal });
    await upstream.journal.reached('waiting');
    const reason = new Error('the client went away');
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
    await upstream.journal.reached('aborted');
    const cancelled = upstream.received.find((request) => request.body?.method === 'notifications/cancelled');
    assert.deepEqual(cancelled?.body?.params, { requestId: upstream.calls()[0]?.body?.id, reason: 'the client went away' });
    assert.deepEqual(errors, []);
    assert.equal(textOf(await call(direct, 'echo', { text: 'still fine' })).includes('still fine'), true);
  });

  it('cancel the call upstream on timeout and reject with RequestTimeout', async () => {
    const upstream = await startUpstream();
    const { direct } = await connect(upstream);
    await assert.rejects(call(direct, 'wait', {}, { timeoutMs: 50 }), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, ErrorCode.RequestTimeout);
      assert.deepEqual(error.data, { timeout: 50 });
      return true;
    });
    await upstream.journal.reached('aborted');
  });

  it('reject with ConnectionClosed and report to the transport when the upstream stops mid-call or is gone', async () => {
    const upstream = await startUpstream();
    const { direct, errors } = await connect(upstream);
    const pending = call(direct, 'wait');
    await upstream.journal.reached('waiting');
    await upstream.stop();
    const connectionClosed = (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, ErrorCode.ConnectionClosed);
      assert.equal(error.message, 'MCP error -32000: Connection closed');
      assert.equal(error.data, undefined);
      return true;
    };
    await assert.rejects(pending, connectionClosed);
    const reported = errors.length;
    assert.ok(reported > 0);
    await assert.rejects(call(direct, 'echo'), connectionClosed);
    assert.ok(errors.length > reported);
  });

  it('renew a bearer token refused with 401 once and send the request again with the new one', async () => {
    let valid = 'first';
    const refused: string[] = [];
    const upstream = await startUpstream({
      gate: (req, res) => {
        if (req.headers.authorization === `Bearer ${valid}`) return false;
        refused.push(`${req.method} ${req.headers.authorization}`);
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return true;
      },
    });
    const { transport } = await connect(upstream, { headers: { authorization: 'Bearer first' } });
    valid = 'second';
    const renewed: string[] = [];
    const bearer: BearerSource = {
      token: async () => 'first',
      renew: async (stale) => {
        renewed.push(stale);
        return 'second';
      },
    };
    const direct = directRequests({ url: upstream.url, headers: {}, bearer, transport });
    cleanups.push(async () => direct.close());
    assert.equal(JSON.parse(textOf(await call(direct, 'echo', { text: 'renewed' }))).said, 'renewed');
    assert.deepEqual(renewed, ['first']);
    // (the SDK client's own GET stream may be refused too: it still holds the old token)
    assert.deepEqual(refused.filter((request) => request.startsWith('POST')), ['POST Bearer first']);
    assert.equal(upstream.calls().at(-1)?.headers.authorization, 'Bearer second');
  });

  it('reject what the upstream refuses with the status and body, and report it to the transport', async () => {
    let failing = false;
    const upstream = await startUpstream({
      gate: (_req, res) => failing && (res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream on fire'), true),
    });
    const { direct, errors } = await connect(upstream);
    failing = true;
    await assert.rejects(call(direct, 'echo'), { message: 'Error POSTing to endpoint (HTTP 500): upstream on fire' });
    assert.equal(errors.at(-1)?.message, 'Error POSTing to endpoint (HTTP 500): upstream on fire');
    failing = false;
    assert.equal(JSON.parse(textOf(await call(direct, 'echo', { text: 'back' }))).said, 'back');
  });

  it('resume a stream the upstream closes before the response from the last event id', async () => {
    const upstream = await startUpstream({ resumable: true });
    const { direct, errors } = await connect(upstream);
    const progress: number[] = [];
    const result = await call(direct, 'poll', {}, { onProgress: ({ progress: value }) => void progress.push(value) });
    assert.equal(textOf(result), 'resumed');
    assert.deepEqual(progress, [1, 2]);
    const resumes = upstream.received.filter((request) => request.method === 'GET' && request.headers['last-event-id'] !== undefined);
    assert.equal(resumes.length, 1);
    assert.equal(resumes[0]?.headers['mcp-session-id'], upstream.calls()[0]?.headers['mcp-session-id']);
    assert.deepEqual(errors, []);
  });

  it('read an answer that arrives in pieces, split inside a line and inside a character, as JSON and as an event stream', async () => {
    const said = 'héllo ✓ wörld';
    const upstream = await startUpstream({
      gate: (req, res) => {
        if (req.headers['x-direct'] === undefined) return false;
        void (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of req) chunks.push(chunk as Buffer);
          const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
          const message = JSON.stringify({ jsonrpc: '2.0', id, result: text(said) });
          const sse = req.headers['x-answer'] === 'sse';
          const bytes = Buffer.from(sse ? `id: 1\r\nevent: message\r\ndata: ${message}\r\n\r\n` : message);
          res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json' });
          // Cut inside the first multi-byte character and inside the data line, each piece sent on its own.
          const cuts = [bytes.indexOf(Buffer.from('é')) + 1, bytes.indexOf(Buffer.from('✓')) + 2, bytes.length - 3];
          let from = 0;
          for (const cut of [...cuts, bytes.length]) {
            res.write(bytes.subarray(from, cut));
            from = cut;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          res.end();
        })();
        return true;
      },
    });
    const { transport } = await connect(upstream);
    for (const answer of ['json', 'sse']) {
      const direct = directRequests({ url: upstream.url, headers: { 'x-direct': '1', 'x-answer': answer }, transport });
      cleanups.push(async () => direct.close());
      assert.equal(textOf(await call(direct, 'echo')), said);
    }
  });

  it('send a call again on a new connection when its kept-alive one is reset before any answer, but not when a new one is', async () => {
    const upstream = await startUpstream({
      gate: (req) => {
        if (req.headers['x-direct'] === undefined) return false;
        const served = servedOn.get(req.socket) ?? 0;
        servedOn.set(req.socket, served + 1);
        if (!(req.headers['x-reset'] === 'always' || (resetReused && served > 0))) return false;
        resets.push(req.socket.remotePort);
        req.socket.resetAndDestroy();
        return true;
      },
    });
    const servedOn = new WeakMap<object, number>();
    const resets: Array<number | undefined> = [];
    let resetReused = false;
    const { transport, errors } = await connect(upstream);
    const direct = directRequests({ url: upstream.url, headers: { 'x-direct': '1' }, transport });
    cleanups.push(async () => direct.close());
    assert.equal(JSON.parse(textOf(await call(direct, 'echo', { text: 'one' }))).said, 'one');
    resetReused = true;
    assert.equal(JSON.parse(textOf(await call(direct, 'echo', { text: 'two' }))).said, 'two');
    assert.equal(resets.length, 1);
    const [first, second] = upstream.calls();
    assert.equal(first?.port, resets[0]);
    assert.notEqual(second?.port, resets[0]);
    assert.deepEqual(errors, []);

    // A connection of its own, reset at once: the request may have reached the upstream, so it is not sent again.
    const fresh = directRequests({ url: upstream.url, headers: { 'x-direct': '1', 'x-reset': 'always' }, transport });
    cleanups.push(async () => fresh.close());
    await assert.rejects(call(fresh, 'echo', { text: 'three' }), { code: ErrorCode.ConnectionClosed });
    assert.equal(resets.length, 2);
    assert.equal(upstream.calls().length, 2);
  });

  it('keep twenty concurrent calls on one instance apart', async () => {
    const { direct } = await connect(await startUpstream());
    const texts = Array.from({ length: 20 }, (_, index) => `call ${index}`);
    const results = await Promise.all(texts.map((value) => call(direct, 'echo', { text: value })));
    assert.deepEqual(
      results.map((result) => JSON.parse(textOf(result)).said),
      texts,
    );
  });

  it('reject calls in flight and later ones once closed', async () => {
    const upstream = await startUpstream();
    const { direct, errors } = await connect(upstream);
    const pending = call(direct, 'wait');
    await upstream.journal.reached('waiting');
    direct.close();
    await assert.rejects(pending, { code: ErrorCode.ConnectionClosed });
    await assert.rejects(call(direct, 'echo'), { code: ErrorCode.ConnectionClosed });
    assert.deepEqual(errors, []);
  });
});
