import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { rawRoutes } from '../../src/http/raw-routes.js';
import { isMcpPath, mcpFrontDoor } from '../../src/gateway/mcp-front-door.js';
import { readBodyText, type McpExchange } from '../../src/gateway/mcp-exchange.js';
import { createLogger } from '../../src/log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { memoryDestination } from '../helpers/log-lines.js';
import { uploadsOverLimit } from '../helpers/partial-upload.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request over a real socket, where the server's front door takes /mcp. */
function overHttp(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(new URL(path, base), { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode!, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** What both ways must agree on: status, body, and the headers /mcp sets (not Date, Connection, Keep-Alive). */
const COMPARED_HEADERS = ['content-type', 'content-length', 'cache-control', 'www-authenticate', 'retry-after', 'access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age'];
const comparable = (answer: Answer) => ({
  status: answer.status,
  body: answer.body,
  headers: Object.fromEntries(COMPARED_HEADERS.flatMap((name) => (answer.headers[name] === undefined ? [] : [[name, String(answer.headers[name])]]))),
});

describe('/mcp through the front door (outside Fastify)', () => {
  let t: TestApp;
  let apiKey: string;

  before(async () => {
    t = await startTestApp({ listen: true });
    const admin = await t.runtime.store.users.findByUsername('admin');
    apiKey = (await t.runtime.apiKeys.create({ user: admin!, name: 'front door' })).token;
  });
  after(() => t.close());

  const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
  const cases: Array<{ what: string; method: string; path: string; headers?: () => Record<string, string>; body?: string }> = [
    { what: 'no token: 401 challenge', method: 'POST', path: '/mcp', headers: () => json, body: initialize },
    { what: 'a garbage token: 401 invalid_token', method: 'POST', path: '/mcp', headers: () => ({ ...json, authorization: 'Bearer nonsense' }), body: initialize },
    { what: 'a token in the query: 400', method: 'POST', path: '/mcp?access_token=abc', headers: () => json, body: initialize },
    { what: 'a preflight: 204 with the CORS headers', method: 'OPTIONS', path: '/mcp', headers: () => ({ origin: 'https://inspector.example', 'access-control-request-method': 'POST' }) },
    { what: 'a foreign Host: 403', method: 'POST', path: '/mcp', headers: () => ({ ...json, host: 'evil.example.com', authorization: `Bearer ${apiKey}` }), body: initialize },
    { what: 'an unknown virtual server: 404', method: 'POST', path: '/mcp/nobody-here', headers: () => ({ ...json, authorization: `Bearer ${apiKey}` }), body: initialize },
    { what: 'a body that is not JSON by type: 415', method: 'POST', path: '/mcp', headers: () => ({ 'content-type': 'text/plain', authorization: `Bearer ${apiKey}` }), body: 'hi' },
    { what: 'a malformed media type: 415', method: 'POST', path: '/mcp', headers: () => ({ 'content-type': 'application/json;;;=', authorization: `Bearer ${apiKey}` }), body: initialize },
    { what: 'a body over the limit: 413', method: 'POST', path: '/mcp', headers: () => ({ ...json, authorization: `Bearer ${apiKey}` }), body: `[${'1,'.repeat(600_000)}1]` },
    { what: 'malformed JSON: 400 parse error', method: 'POST', path: '/mcp', headers: () => ({ ...json, authorization: `Bearer ${apiKey}` }), body: '{"jsonrpc":' },
    { what: 'a request without a session: 400', method: 'POST', path: '/mcp', headers: () => ({ ...json, authorization: `Bearer ${apiKey}` }), body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' },
    { what: 'GET without a session: 400', method: 'GET', path: '/mcp', headers: () => ({ accept: 'text/event-stream', authorization: `Bearer ${apiKey}` }) },
  ];

  it("refuses a malformed media type with 415, as Fastify's parser did, while a charset parameter is fine", async () => {
    const refused = await overHttp(t.url!, 'POST', '/mcp', { 'content-type': 'application/json;;;=', authorization: `Bearer ${apiKey}` }, initialize);
    assert.equal(refused.status, 415);
    const accepted = await overHttp(t.url!, 'POST', '/mcp', { ...json, 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${apiKey}` }, initialize);
    assert.equal(accepted.status, 200);
  });

  for (const { what, method, path, headers, body } of cases) {
    it(`answers as the Fastify route does: ${what}`, async () => {
      const given = { 'x-request-id': 'req-front-door-1', ...(headers?.() ?? {}) };
      const real = await overHttp(t.url!, method, path, given, body);
      const injected = await t.app.inject({ method: method as 'POST', url: path, headers: given, ...(body === undefined ? {} : { payload: body }) });
      assert.deepEqual(comparable(real), comparable({ status: injected.statusCode, headers: injected.headers as IncomingHttpHeaders, body: injected.body }));
      assert.equal(real.headers['x-request-id'], 'req-front-door-1', 'the request id is echoed');
    });
  }

  it('serves a session end to end and counts /mcp in the HTTP metrics by its route template', async () => {
    const opened = await overHttp(t.url!, 'POST', '/mcp', { ...json, authorization: `Bearer ${apiKey}` }, initialize);
    assert.equal(opened.status, 200, opened.body);
    const session = { ...json, authorization: `Bearer ${apiKey}`, 'mcp-session-id': String(opened.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' };
    assert.equal((await overHttp(t.url!, 'POST', '/mcp', session, '{"jsonrpc":"2.0","method":"notifications/initialized"}')).status, 202);
    const listed = await overHttp(t.url!, 'POST', '/mcp', session, '{"jsonrpc":"2.0","id":3,"method":"tools/list"}');
    assert.match(listed.body, /demo_echo/);
    assert.equal((await overHttp(t.url!, 'DELETE', '/mcp', session)).status, 200);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /gatehouse_http_requests_total\{method="POST",route="\/mcp",status_code="202"\} [1-9]/);
    assert.match(metrics, /gatehouse_http_requests_total\{method="DELETE",route="\/mcp",status_code="200"\} [1-9]/);
    assert.match(metrics, /gatehouse_http_requests_total\{method="POST",route="\/mcp\/:name",status_code="404"\} [1-9]/);
  });

  it('leaves every other path, and methods /mcp does not serve, to Fastify', () => {
    assert.equal(isMcpPath('POST', '/mcp'), true);
    assert.equal(isMcpPath('DELETE', '/mcp/team'), true);
    assert.equal(isMcpPath('HEAD', '/mcp'), false);
    assert.equal(isMcpPath('PUT', '/mcp'), false);
    assert.equal(isMcpPath('POST', '/mcp/'), false);
    assert.equal(isMcpPath('POST', '/mcp/a/b'), false);
    assert.equal(isMcpPath('POST', '/mcp/a%20b'), false);
    assert.equal(isMcpPath('POST', '/mcpx'), false);
    assert.equal(isMcpPath('GET', '/.well-known/oauth-protected-resource/mcp'), false);
  });

  it('at info, logs each /mcp request as Fastify does: its id, method and URL without query credentials, then its status', async () => {
    const { stream, lines } = memoryDestination();
    const logged = await startTestApp({ listen: true, logger: createLogger({ logLevel: 'info' }, stream) });
    try {
      await overHttp(logged.url!, 'POST', '/mcp?access_token=leaked-query-token', { ...json, 'x-request-id': 'req-logged-1' }, initialize);
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.reqId === 'req-logged-1');
      assert.deepEqual(records.map((record) => record.msg), ['incoming request', 'request completed']);
      assert.deepEqual(records[0]!.req, { method: 'POST', url: '/mcp?access_token=[redacted]', host: new URL(logged.url!).host, remoteAddress: '127.0.0.1' });
      assert.deepEqual(records[1]!.res, { statusCode: 400 });
      assert.ok(!lines.join('\n').includes('leaked-query-token'));
    } finally {
      await logged.close();
    }
  });

  it('answers a body over the limit with 413 and closes the connection instead of reading the rest, as Fastify does', async () => {
    const { declared, streamed } = await uploadsOverLimit(t.url!, '/mcp', `Authorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\n`, 1024 * 1024);
    for (const answer of [declared, streamed]) {
      assert.match(answer, /^HTTP\/1\.1 413 /);
      assert.match(answer, /\r\nconnection: close\r\n/i);
    }
  });

  it('reading the body of a request whose client left before it was read finishes instead of waiting for ever', async () => {
    const door = rawRoutes();
    let read: Promise<unknown> | undefined;
    const server = door.serverFactory((request, response) => {
      // As when the client leaves while the guard is still looking its credential up.
      request.once('close', () => {
        const exchange = { request, response, headers: {}, log: pino({ level: 'silent' }), host: '', query: '', virtualServer: undefined, bodyLimit: 1024 } as McpExchange;
        read = Promise.race([Promise.resolve(readBodyText(exchange)), new Promise((resolve) => setImmediate(() => resolve('still waiting')))]);
      });
    }, {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      socket.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc"', () => socket.destroy());
      while (read === undefined) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(await read, { ok: false, status: 400, code: -32600, message: 'Invalid Request', closeConnection: true });
    } finally {
      server.close();
    }
  });

  for (const [how, serve] of [
    ['thrown', () => { throw new Error('secret detail of the fault'); }],
    ['rejected', async () => { throw new Error('secret detail of the fault'); }],
  ] as const) {
    it(`answers a fault of its steps (${how}) as every /mcp answer: request id, CORS, a JSON-RPC internal error without detail`, async () => {
      const { stream, lines } = memoryDestination();
      const door = rawRoutes();
      door.mount(isMcpPath, mcpFrontDoor({ serve, log: createLogger({ logLevel: 'error' }, stream), trustProxy: false, bodyLimit: 1024, observe: () => undefined, isClosing: () => false }));
      const server = door.serverFactory(() => assert.fail('/mcp never reaches Fastify'), {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const answer = await overHttp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'POST', '/mcp', { ...json, 'x-request-id': 'req-fault-1', origin: 'https://inspector.example' }, '{}');
        assert.equal(answer.status, 500);
        assert.equal(answer.headers['x-request-id'], 'req-fault-1');
        assert.equal(answer.headers['access-control-allow-origin'], '*');
        assert.equal(answer.headers['access-control-expose-headers'], 'WWW-Authenticate, Mcp-Session-Id');
        assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
        assert.equal(answer.headers['cache-control'], 'no-store');
        assert.deepEqual(JSON.parse(answer.body), { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
        const logged = lines.map((line) => JSON.parse(line) as { msg: string; reqId?: string; err?: { message?: string } });
        assert.ok(logged.some((record) => record.msg === 'mcp request failed' && record.reqId === 'req-fault-1' && record.err?.message === 'secret detail of the fault'), 'the detail goes to the log');
      } finally {
        server.close();
      }
    });
  }

  it('answers 503 and closes the connection once the app is closing, as Fastify does', async () => {
    const door = rawRoutes();
    door.mount(isMcpPath, mcpFrontDoor({ serve: async () => assert.fail('nothing is served while closing'), log: pino({ level: 'silent' }), trustProxy: false, bodyLimit: 1024, observe: () => undefined, isClosing: () => true }));
    const server = door.serverFactory(() => assert.fail('/mcp never reaches Fastify'), {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await overHttp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'POST', '/mcp', json, '{}');
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.connection, 'close');
      assert.deepEqual(JSON.parse(answer.body), { error: 'Service Unavailable', message: 'Service Unavailable', statusCode: 503 });
    } finally {
      server.close();
    }
  });
});
