import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { rawRoutes } from '../../src/http/raw-routes.js';
import { createLogger } from '../../src/log.js';
import { isTokenRequest, tokenFrontDoor } from '../../src/oauth/token-front-door.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { memoryDestination } from '../helpers/log-lines.js';
import { uploadsOverLimit } from '../helpers/partial-upload.js';
import { createClient, grantWithTokens, type TestClient } from './token-fixtures.js';

interface Answer {
  status: number;
  /** Names and values as written on the wire, in order, without Date (two answers may straddle a second). */
  rawHeaders: string[];
  /** Without Date, as rawHeaders. */
  headers: Record<string, string>;
  body: string;
}

/** A request over a real socket of its own (no keep-alive pool), answered in full. */
function overHttp(base: string, method: string, headers: Record<string, string>, body?: string, path = '/oauth/token'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sized = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const outgoing = httpRequest(new URL(path, base), { method, headers: sized, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const rawHeaders: string[] = [];
        for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
          if (incoming.rawHeaders[i]!.toLowerCase() !== 'date') rawHeaders.push(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!);
        }
        const { date: _date, ...headers } = incoming.headers as Record<string, string>;
        resolve({ status: incoming.statusCode!, rawHeaders, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** A success's tokens differ from one request to the next: their values are masked, the rest compared. */
function masked(answer: Answer): Answer {
  if (answer.status !== 200) return answer;
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  for (const field of ['access_token', 'refresh_token']) if (typeof body[field] === 'string') body[field] = `<${field}>`;
  const rawHeaders = answer.rawHeaders.map((value, i) => (answer.rawHeaders[i - 1]?.toLowerCase() === 'content-length' ? '<length>' : value));
  return { ...answer, rawHeaders, headers: { ...answer.headers, 'content-length': '<length>' }, body: JSON.stringify(body) };
}

/** What the injected answer is compared on (light-my-request writes no Date, Connection or Keep-Alive). */
const COMPARED_HEADERS = ['x-request-id', 'cache-control', 'pragma', 'access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age', 'www-authenticate', 'content-type', 'content-length', 'connection'];
const comparable = (answer: Pick<Answer, 'status' | 'headers' | 'body'>) => ({
  status: answer.status,
  body: answer.body,
  headers: Object.fromEntries(COMPARED_HEADERS.flatMap((name) => (answer.headers[name] === undefined || name === 'connection' ? [] : [[name, String(answer.headers[name])]]))),
});

const FORM = 'application/x-www-form-urlencoded';

describe('POST /oauth/token through the front door (outside Fastify)', () => {
  let t: TestApp;
  let viaFastify: Server;
  let fastifyUrl: string;
  let confidential: TestClient;

  before(async () => {
    t = await startTestApp({ listen: true });
    // The same app's Fastify router on a second server: the token endpoint as it was answered before the front door.
    viaFastify = createServer(t.app.routing);
    viaFastify.keepAliveTimeout = t.app.server.keepAliveTimeout;
    await new Promise<void>((resolve) => viaFastify.listen(0, '127.0.0.1', resolve));
    fastifyUrl = `http://127.0.0.1:${(viaFastify.address() as AddressInfo).port}`;
    confidential = await createClient(t, { authMethod: 'client_secret_basic', secret: 'the-right-secret', grantTypes: ['refresh_token'] });
  });
  after(async () => {
    viaFastify.close();
    await t.close();
  });

  const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
  /** Each way needs a refresh token of its own (a token rotates once): the form of a real refresh, made per call. */
  const realRefresh = async () => {
    const { client, tokens } = await grantWithTokens(t);
    return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.clientId }).toString();
  };
  const cases: Array<{ what: string; door: boolean; method?: string; path?: string; headers?: () => Record<string, string>; body?: () => Promise<string> | string }> = [
    { what: 'a real refresh: 200 with new tokens', door: true, body: realRefresh },
    { what: 'an unknown refresh token: 400 invalid_grant', door: true, body: () => 'grant_type=refresh_token&refresh_token=gth_rt_unknown&client_id=cli_nobody' },
    { what: 'a wrong secret by Basic: 401 invalid_client with WWW-Authenticate', door: true, headers: () => ({ authorization: basic(confidential.clientId, 'wrong') }), body: () => 'grant_type=refresh_token&refresh_token=x' },
    { what: 'malformed Basic credentials: 401', door: true, headers: () => ({ authorization: 'Basic !!!' }), body: () => 'grant_type=refresh_token&refresh_token=x' },
    { what: 'two client authentication methods: 400 invalid_request', door: true, headers: () => ({ authorization: basic(confidential.clientId, 'the-right-secret') }), body: () => 'grant_type=refresh_token&refresh_token=x&client_secret=y' },
    { what: 'a duplicated grant_type: 400 invalid_request', door: true, body: () => 'grant_type=refresh_token&grant_type=refresh_token&refresh_token=x&client_id=a' },
    { what: 'a duplicated refresh_token: 400 invalid_request', door: true, headers: () => ({ authorization: basic(confidential.clientId, 'the-right-secret') }), body: () => 'grant_type=refresh_token&refresh_token=x&refresh_token=y' },
    { what: 'no grant_type: 400 invalid_request', door: true, body: () => 'client_id=a&refresh_token=x' },
    { what: 'an empty body: 400 invalid_request', door: true, body: () => '' },
    { what: 'an unknown grant_type: 400 unsupported_grant_type', door: true, headers: () => ({ authorization: basic(confidential.clientId, 'the-right-secret') }), body: () => 'grant_type=password' },
    { what: 'malformed percent-encoding kept as sent, as fast-querystring does', door: true, headers: () => ({ authorization: basic(confidential.clientId, 'the-right-secret') }), body: () => 'grant_type=%41%zz+%E0%A4&refresh_token=x' },
    { what: 'percent-encoded and + spaces in names and values', door: true, headers: () => ({ authorization: basic(confidential.clientId, 'the-right-secret') }), body: () => 'grant%5Ftype=refresh+token%21' },
    { what: 'a charset parameter and an upper-case type', door: true, headers: () => ({ 'content-type': 'Application/X-WWW-Form-Urlencoded; Charset=UTF-8' }), body: () => 'grant_type=refresh_token&refresh_token=x&client_id=a' },
    { what: 'a body over the limit: 413', door: true, body: () => `grant_type=refresh_token&refresh_token=${'x'.repeat(1024 * 1024)}` },
    { what: 'a JSON body: 400 invalid_request (left to Fastify)', door: false, headers: () => ({ 'content-type': 'application/json' }), body: () => '{"grant_type":"refresh_token"}' },
    { what: 'malformed JSON: 400 (left to Fastify)', door: false, headers: () => ({ 'content-type': 'application/json' }), body: () => '{"grant_type"' },
    { what: 'an unsupported content type: 415 (left to Fastify)', door: false, headers: () => ({ 'content-type': 'application/xml' }), body: () => '<grant_type/>' },
    { what: 'a form type with another parameter (left to Fastify)', door: false, headers: () => ({ 'content-type': `${FORM}; boundary=x` }), body: () => 'grant_type=refresh_token' },
    { what: 'a body without a type (left to Fastify)', door: false, headers: () => ({ 'content-type': '' }), body: () => 'grant_type=refresh_token' },
    { what: 'a CORS preflight: 204 (left to Fastify)', door: false, method: 'OPTIONS', headers: () => ({ origin: 'https://inspector.example', 'access-control-request-method': 'POST' }) },
    { what: 'GET on the path: 404 (left to Fastify)', door: false, method: 'GET' },
    { what: 'PUT on the path: 404 (left to Fastify)', door: false, method: 'PUT', body: () => 'grant_type=refresh_token' },
    { what: 'a trailing slash: 404 (left to Fastify)', door: false, path: '/oauth/token/', body: () => 'grant_type=refresh_token' },
  ];

  for (const { what, door, method = 'POST', path = '/oauth/token', headers, body } of cases) {
    it(`answers as the Fastify route does, over a socket and through inject: ${what}`, async () => {
      const given: Record<string, string> = { 'x-request-id': 'req-token-door-1', ...(method === 'POST' ? { 'content-type': FORM } : {}), ...(headers?.() ?? {}) };
      if (given['content-type'] === '') delete given['content-type'];
      assert.equal(isTokenRequest(method, path, given), door, 'the front door takes this request, or leaves it');
      const [forDoor, forFastify, forInject] = body ? [await body(), await body(), await body()] : [];
      const real = masked(await overHttp(t.url!, method, given, forDoor, path));
      const fastify = masked(await overHttp(fastifyUrl, method, given, forFastify, path));
      assert.deepEqual(real, fastify, 'the same status, headers in the same order, and body on the wire');
      const injected = await t.app.inject({ method: method as 'POST', url: path, headers: given, ...(forInject === undefined ? {} : { payload: forInject }) });
      const viaInject = masked({ status: injected.statusCode, rawHeaders: [], headers: injected.headers as Record<string, string>, body: injected.body });
      assert.deepEqual(comparable(real), comparable(viaInject));
      assert.equal(real.headers['x-request-id'], 'req-token-door-1', 'the request id is echoed');
    });
  }

  it('refuses a repeated parameter, answers no-store and CORS, and challenges a Basic caller (the security posture, through the door)', async () => {
    const repeated = await overHttp(t.url!, 'POST', { 'content-type': FORM }, 'grant_type=refresh_token&grant_type=refresh_token&client_id=a');
    assert.equal(repeated.status, 400);
    assert.equal(JSON.parse(repeated.body).error, 'invalid_request');
    assert.equal(repeated.headers['cache-control'], 'no-store');
    assert.equal(repeated.headers.pragma, 'no-cache');
    assert.equal(repeated.headers['access-control-allow-origin'], '*');
    const challenged = await overHttp(t.url!, 'POST', { 'content-type': FORM, authorization: basic(confidential.clientId, 'wrong') }, 'grant_type=refresh_token&refresh_token=x');
    assert.equal(challenged.status, 401);
    assert.equal(challenged.headers['www-authenticate'], 'Basic realm="gatehouse"');
  });

  it('counts token requests in the HTTP metrics by route, and issued tokens by grant type', async () => {
    const issued = await overHttp(t.url!, 'POST', { 'content-type': FORM }, await realRefresh());
    assert.equal(issued.status, 200, issued.body);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /gatehouse_http_requests_total\{method="POST",route="\/oauth\/token",status_code="200"\} [1-9]/);
    assert.match(metrics, /gatehouse_http_requests_total\{method="POST",route="\/oauth\/token",status_code="400"\} [1-9]/);
    assert.match(metrics, /gatehouse_oauth_tokens_issued_total\{grant_type="refresh_token"\} [1-9]/);
  });

  it('at info, logs each token request as Fastify does: its id, method and URL, then its status', async () => {
    const { stream, lines } = memoryDestination();
    const logged = await startTestApp({ listen: true, logger: createLogger({ logLevel: 'info' }, stream) });
    try {
      await overHttp(logged.url!, 'POST', { 'content-type': FORM, 'x-request-id': 'req-token-logged' }, 'grant_type=refresh_token&refresh_token=gth_rt_secret-value&client_id=a');
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.reqId === 'req-token-logged');
      assert.deepEqual(records.map((record) => record.msg), ['incoming request', 'request completed']);
      assert.deepEqual(records[0]!.req, { method: 'POST', url: '/oauth/token', host: new URL(logged.url!).host, remoteAddress: '127.0.0.1' });
      assert.deepEqual(records[1]!.res, { statusCode: 401 });
      assert.ok(!lines.join('\n').includes('gth_rt_secret-value'));
    } finally {
      await logged.close();
    }
  });

  it('answers a body over the limit with 413 and closes the connection instead of reading the rest, as Fastify does', async () => {
    const { declared, streamed } = await uploadsOverLimit(t.url!, '/oauth/token', `Content-Type: ${FORM}\r\n`, 1024 * 1024);
    for (const answer of [declared, streamed]) {
      assert.match(answer, /^HTTP\/1\.1 413 /);
      assert.match(answer, /\r\nconnection: close\r\n/i);
      assert.match(answer, /"error_description":"request body too large"/);
    }
  });

  it('answers 503 and closes the connection once the app is closing, as Fastify does', async () => {
    const door = rawRoutes();
    const answer = async () => assert.fail('nothing is served while closing');
    door.mount(isTokenRequest, tokenFrontDoor({ answer, log: pino({ level: 'silent' }), trustProxy: false, bodyLimit: 1024, observe: () => undefined, isClosing: () => true }));
    const server = door.serverFactory(() => assert.fail('a form POST to /oauth/token never reaches Fastify'), {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const refused = await overHttp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'POST', { 'content-type': FORM }, 'grant_type=refresh_token');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.connection, 'close');
      assert.deepEqual(JSON.parse(refused.body), { error: 'Service Unavailable', message: 'Service Unavailable', statusCode: 503 });
    } finally {
      server.close();
    }
  });
});
