import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedJson, REDACTED, redactArguments, sensitiveKeyMatcher } from '../../src/gateway/argument-redaction.js';

const defaults = sensitiveKeyMatcher(['password', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie']);

describe('argument redaction', () => {
  it('blanks the values of sensitive keys at any depth, in objects and arrays, and keeps the rest', () => {
    const args = {
      query: 'select 1',
      password: 'hunter2',
      connection: { host: 'db', auth: { secret: 's3', user: 'bob' } },
      headers: [{ name: 'x', Authorization: 'Bearer abc' }, { cookie: { session: 'c' } }],
    };
    assert.deepEqual(redactArguments(args, defaults), {
      query: 'select 1',
      password: REDACTED,
      connection: { host: 'db', auth: { secret: REDACTED, user: 'bob' } },
      headers: [{ name: 'x', Authorization: REDACTED }, { cookie: REDACTED }],
    });
  });

  it('matches keys ignoring case and separators, and keys that contain a sensitive word', () => {
    const redacted = redactArguments(
      { PASSWORD: 'a', ApiKey: 'b', 'X-API-KEY': 'c', access_token: 'd', clientSecret: 'e', name: 'kept' },
      defaults,
    );
    assert.deepEqual(redacted, { PASSWORD: REDACTED, ApiKey: REDACTED, 'X-API-KEY': REDACTED, access_token: REDACTED, clientSecret: REDACTED, name: 'kept' });
  });

  it('uses the configured keys, not a built-in list', () => {
    const only = sensitiveKeyMatcher(['ssn']);
    assert.deepEqual(redactArguments({ ssn: '123', password: 'p' }, only), { ssn: REDACTED, password: 'p' });
  });

  it('does not change the arguments it was given', () => {
    const args = { nested: { token: 't' } };
    redactArguments(args, defaults);
    assert.deepEqual(args, { nested: { token: 't' } });
  });

  it('leaves JSON under the cap as it is', () => {
    assert.equal(boundedJson({ a: 1, b: 'x' }, 100), '{"a":1,"b":"x"}');
    assert.equal(boundedJson(undefined, 100), 'null');
  });

  it('past the cap, keeps valid JSON within the cap that says it was truncated and how big it was', () => {
    const value = { text: 'é"\\'.repeat(5000) };
    const full = JSON.stringify(value);
    const json = boundedJson(value, 1024);
    assert.ok(Buffer.byteLength(json, 'utf8') <= 1024, `${Buffer.byteLength(json, 'utf8')} bytes`);
    const parsed = JSON.parse(json) as { truncated: boolean; bytes: number; preview: string };
    assert.equal(parsed.truncated, true);
    assert.equal(parsed.bytes, Buffer.byteLength(full, 'utf8'));
    assert.ok(parsed.preview.length > 100);
    assert.ok(full.startsWith(parsed.preview));
  });
});
