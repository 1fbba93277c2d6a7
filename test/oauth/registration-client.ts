import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../helpers/app.js';

export const CURSOR_REDIRECT_URIS = [
  'cursor://anysphere.cursor-mcp/oauth/callback',
  'https://www.cursor.com/agents/mcp/oauth/callback',
  'http://localhost:8787/callback',
];

/** `POST /oauth/register` (or another path) with a JSON body, optionally from a given client address. */
export function register(
  t: TestApp,
  body: unknown,
  options: { url?: string; headers?: Record<string, string>; remoteAddress?: string } = {},
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: options.url ?? '/oauth/register',
    headers: { 'content-type': 'application/json', ...options.headers },
    payload: JSON.stringify(body),
    remoteAddress: options.remoteAddress,
  });
}

/** Registers a client that must succeed and returns the response body. */
export async function registered(t: TestApp, body: unknown = { redirect_uris: ['https://app.example.com/cb'] }): Promise<Record<string, any>> {
  const res = await register(t, body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** Asserts an RFC 6749 error body (`error`, `error_description`, nothing else) that is never cached. */
export function assertOAuthError(res: LightMyRequestResponse, status: number, error: string, description?: RegExp): Record<string, string> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.equal(body.error, error);
  if (description) assert.match(body.error_description, description);
  return body;
}
