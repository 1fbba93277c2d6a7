import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { basicAuth, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';

export const ADMIN_AUTH = { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Sends `body` as JSON to the app, with the given headers (admin Basic auth unless others are given). */
export function sendJson(
  t: TestApp,
  method: InjectOptions['method'],
  url: string,
  body?: unknown,
  headers: Record<string, string> = ADMIN_AUTH,
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Asserts the full envelope shape, that nothing in it is a stack trace, and returns the parsed body. */
export function assertEnvelope(
  res: LightMyRequestResponse,
  expected: { status: number; type: string; code: string; param?: string | null },
): Record<string, unknown> {
  assert.equal(res.statusCode, expected.status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.doesNotMatch(res.body, /stack|\bat .+\.(ts|js):\d+/, 'no stack trace in an error body');
  const body = res.json();
  assert.deepEqual(Object.keys(body).sort(), ['error', 'event_id', 'extra_fields', 'is_bifrost_error', 'status_code', 'type']);
  assert.match(body.event_id, UUID);
  assert.equal(body.type, expected.type);
  assert.equal(body.is_bifrost_error, true);
  assert.equal(body.status_code, expected.status);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'event_id', 'message', 'param', 'type']);
  assert.equal(body.error.type, expected.type);
  assert.equal(body.error.code, expected.code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.equal(body.error.param, expected.param ?? null);
  assert.equal(body.error.event_id, body.event_id);
  assert.equal(typeof body.extra_fields, 'object');
  assert.notEqual(body.extra_fields, null);
  return body;
}
