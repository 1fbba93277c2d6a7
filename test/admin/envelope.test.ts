import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ZodError, z } from 'zod';
import { ApiError, envelopeOf, toApiError } from '../../src/admin/envelope.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ADMIN_AUTH, assertEnvelope, sendJson } from './api-client.js';

const BAD_REQUEST = { status: 400, type: 'invalid_request_error' };

describe('/api answers client mistakes with 4xx envelopes, never 500', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { bodyLimitBytes: 2048 } });
  });
  after(() => t.close());

  const post = (headers: Record<string, string>, payload?: string) =>
    t.app.inject({ method: 'POST', url: '/api/apikeys', headers: { ...ADMIN_AUTH, ...headers }, payload });

  it('malformed JSON gets 400 invalid_json', async () => {
    assertEnvelope(await post({ 'content-type': 'application/json' }, '{"name": "ci"'), { ...BAD_REQUEST, code: 'invalid_json' });
  });

  it('an empty body declared as JSON, where the route needs a body, gets 400 saying a JSON object is needed', async () => {
    const refused = assertEnvelope(await post({ 'content-type': 'application/json' }, ''), { ...BAD_REQUEST, code: 'validation_failed', param: null });
    assert.equal((refused.error as { message: string }).message, 'this request needs a JSON object as its body');
    assertEnvelope(await post({ 'content-type': 'application/json' }, '  '), { ...BAD_REQUEST, code: 'invalid_json' });
  });

  it('an empty body declared as JSON counts as no body on routes that take none', async () => {
    const emptyJson = (method: 'POST' | 'DELETE', url: string) =>
      t.app.inject({ method, url, headers: { ...ADMIN_AUTH, 'content-type': 'application/json' }, payload: '' });
    // Each answers as it does without a body: the route's own outcome, never invalid_json.
    assertEnvelope(await emptyJson('POST', '/api/mcp/client/ups_none/complete-oauth'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    assertEnvelope(await emptyJson('POST', '/api/mcp/client/ups_none/reconnect'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    assertEnvelope(await emptyJson('DELETE', '/api/oauth/grants/grt_none'), { status: 404, type: 'not_found_error', code: 'not_found', param: 'id' });
    const key = (await sendJson(t, 'POST', '/api/apikeys', { name: 'to-revoke' })).json() as { id: string };
    assert.equal((await emptyJson('DELETE', `/api/apikeys/${key.id}`)).statusCode, 204);
    const token = await emptyJson('POST', '/api/oauth/initial-access-tokens');
    assert.equal(token.statusCode, 201, token.body);
  });

  it('a body over the configured limit gets 413', async () => {
    const res = await sendJson(t, 'POST', '/api/apikeys', { name: 'x'.repeat(4096) });
    assertEnvelope(res, { status: 413, type: 'invalid_request_error', code: 'body_too_large' });
  });

  it('bodies that are not JSON get 415, whatever else they claim to be', async () => {
    const cases: { headers: Record<string, string>; payload: string }[] = [
      { headers: { 'content-type': 'text/plain' }, payload: '{"name":"ci"}' },
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=ci' },
      { headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' },
      { headers: {}, payload: '{"name":"ci"}' },
    ];
    for (const { headers, payload } of cases) {
      assertEnvelope(await post(headers, payload), { status: 415, type: 'invalid_request_error', code: 'unsupported_media_type' });
    }
  });

  it('JSON with a charset parameter is accepted', async () => {
    const res = await post({ 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ name: 'ci' }));
    assert.equal(res.statusCode, 201, res.body);
  });

  it('a field of the wrong type or an unknown field gets 400 naming it in param', async () => {
    assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', { name: 42 }), { ...BAD_REQUEST, code: 'validation_failed', param: 'name' });
    assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', { name: '   ' }), { ...BAD_REQUEST, code: 'validation_failed', param: 'name' });
    assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', { name: 'ci', scope: 'all' }), { ...BAD_REQUEST, code: 'validation_failed', param: 'scope' });
    assertEnvelope(await sendJson(t, 'POST', '/api/apikeys', ['ci']), { ...BAD_REQUEST, code: 'validation_failed', param: null });
  });

  it('a request without a body where one is required gets 400', async () => {
    assertEnvelope(await post({}), { ...BAD_REQUEST, code: 'validation_failed', param: null });
  });

  it('an unknown /api path gets a 404 envelope', async () => {
    const unknown = [['GET', '/api/nope'], ['GET', '/api'], ['GET', '/api/users/extra'], ['PUT', '/api/apikeys?x=1']] as const;
    for (const [method, url] of unknown) {
      const res = await t.app.inject({ method, url, headers: ADMIN_AUTH });
      assertEnvelope(res, { status: 404, type: 'not_found_error', code: 'not_found' });
    }
  });
});

describe('an unexpected failure in /api', () => {
  it('answers a generic 500 envelope and logs the cause under the same event_id', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const t = await startTestApp({ logger: pino({ level: 'info' }, sink) });
    const { key } = (await sendJson(t, 'POST', '/api/apikeys', { name: 'ci' })).json() as { key: string };
    // The database going away under a running app: a real failure that is not the client's fault.
    await t.runtime.store.database.close();
    try {
      const res = await t.app.inject({ method: 'GET', url: '/api/users', headers: { 'x-api-key': key } });
      const body = assertEnvelope(res, { status: 500, type: 'api_error', code: 'internal_error' });
      const error = body.error as { message: string };
      assert.doesNotMatch(error.message, /database|sqlite|connection/i, 'the cause stays on the server');
      const logged = lines.map((line) => JSON.parse(line) as { event_id?: string; err?: { message: string; stack: string } }).find((entry) => entry.event_id === body.event_id);
      assert.ok(logged?.err, 'the log line with the event_id holds the error');
      assert.ok(logged.err.stack.length > 0);
    } finally {
      await t.close();
    }
  });
});

describe('toApiError', () => {
  it('keeps an ApiError as it is', () => {
    const error = new ApiError(409, 'username_taken', 'taken', { param: 'username' });
    assert.equal(toApiError(error), error);
    assert.equal(error.type, 'conflict_error');
  });

  it('names the first failing field of a zod error', () => {
    const result = z.object({ user: z.object({ name: z.string() }) }).safeParse({ user: { name: 1 } });
    assert.ok(result.error instanceof ZodError);
    const error = toApiError(result.error);
    assert.deepEqual([error.statusCode, error.code, error.options.param], [400, 'validation_failed', 'user.name']);
  });

  it("names the field of a Fastify schema error, missing properties included", () => {
    const missing = Object.assign(new Error('body must have required property'), {
      validation: [{ instancePath: '/user', params: { missingProperty: 'name' }, message: "must have required property 'name'" }],
      validationContext: 'body',
    });
    const error = toApiError(missing);
    assert.deepEqual([error.statusCode, error.code, error.options.param], [400, 'validation_failed', 'user.name']);
  });

  it('treats a SyntaxError marked as the client’s as malformed JSON, any other as a server failure', () => {
    assert.equal(toApiError(Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 })).code, 'invalid_json');
    assert.equal(toApiError(new SyntaxError('Unexpected token')).statusCode, 500);
  });

  it('never passes the message of an unknown error to the client', () => {
    const error = toApiError(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'));
    assert.equal(error.statusCode, 500);
    const envelope = envelopeOf(error, 'e');
    assert.ok(!JSON.stringify(envelope).includes('hunter2'));
    assert.ok(!JSON.stringify(envelope).includes('10.0.0.5'));
  });
});
