import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger, lazyChildLogger, redactQuerySecrets } from '../src/log.js';
import { TEST_ADMIN_PASSWORD, basicAuth, startTestApp } from './helpers/app.js';
import { memoryDestination } from './helpers/log-lines.js';

it('log lines are JSON, each request line carries its request id, and no credential reaches the log', async () => {
  const { stream, lines } = memoryDestination();
  const t = await startTestApp({ logger: createLogger({ logLevel: 'trace' }, stream) });
  const apiKey = 'gth_ak_NotARealKeyButShapedLikeOne0123456789abcdefg';
  const cookieValue = 'session-cookie-value-7f3a9c';
  const loggedPassword = 'logged-Pa55word-zq81';
  const queryToken = 'query-token-value-9d2e';
  const secrets = [
    TEST_ADMIN_PASSWORD,
    basicAuth('admin', TEST_ADMIN_PASSWORD).slice('Basic '.length),
    apiKey,
    cookieValue,
    loggedPassword,
    queryToken,
    'nested-secret-41',
    'body-field-52',
  ];
  const answeredIds: string[] = [];
  try {
    const requests = [
      { method: 'GET' as const, url: '/api/users', headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) } },
      {
        method: 'POST' as const,
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ username: 'admin', password: TEST_ADMIN_PASSWORD }).toString(),
      },
      { method: 'GET' as const, url: '/api/users', headers: { 'x-api-key': apiKey, cookie: `gatehouse_session=${cookieValue}` } },
      { method: 'GET' as const, url: `/no-such-page?code=${queryToken}&access_token=${queryToken}&page=2` },
    ];
    const statuses: number[] = [];
    for (const request of requests) {
      const res = await t.app.inject(request);
      const id = res.headers['x-request-id'];
      assert.equal(typeof id, 'string', `${request.method} ${request.url} answers with x-request-id`);
      answeredIds.push(id as string);
      statuses.push(res.statusCode);
      // The session the sign-in opened is a credential too.
      for (const cookie of [res.headers['set-cookie'] ?? []].flat()) secrets.push(cookie.split(';')[0]!.split('=').slice(1).join('='));
    }
    assert.equal(statuses[0], 200, 'the Basic sign-in succeeded, so its handling was logged');
    assert.ok(secrets.length > 8, 'the form sign-in set a session cookie');
    t.app.log.info(
      { user: { username: 'ada', password: loggedPassword }, upstream: { tokens: { refresh_token: 'nested-secret-41' } }, body: { anything: 'body-field-52' } },
      'an object holding credentials',
    );
  } finally {
    await t.close();
  }

  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const requestEntries = entries.filter((entry) => 'req' in entry || 'res' in entry || 'reqId' in entry);
  assert.ok(requestEntries.length >= answeredIds.length * 2, 'each request logs at least its arrival and its completion');
  for (const entry of requestEntries) assert.equal(typeof entry.reqId, 'string', JSON.stringify(entry));
  assert.deepEqual(new Set(requestEntries.map((entry) => entry.reqId)), new Set(answeredIds), 'log ids are the ids the responses named');

  const output = lines.join('\n');
  for (const secret of secrets) assert.ok(!output.includes(secret), `the log does not contain ${secret}`);
  const logged = entries.find((entry) => entry.msg === 'an object holding credentials')!;
  assert.deepEqual(logged.user, { username: 'ada', password: '[redacted]' }, 'other fields survive redaction');
  assert.ok(output.includes('page=2'), 'harmless query parameters are kept');
});

it('a caller-supplied request id is echoed when harmless and replaced when not', async () => {
  const t = await startTestApp();
  try {
    const kept = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(kept.headers['x-request-id'], 'trace-abc.123');
    const replaced = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id\u0007<script>' } });
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  } finally {
    await t.close();
  }
});

it('credential query parameters are redacted from logged URLs, others kept', () => {
  assert.equal(redactQuerySecrets('/cb?code=abc&state=xyz'), '/cb?code=[redacted]&state=xyz');
  assert.equal(redactQuerySecrets('/oauth/consent/resume?flow_id=f&approval=a1'), '/oauth/consent/resume?flow_id=f&approval=[redacted]');
  assert.equal(redactQuerySecrets('/plain/path'), '/plain/path');
  assert.equal(redactQuerySecrets('Route GET:/x?a=1&Access_Token=t not found'), 'Route GET:/x?a=1&Access_Token=[redacted] not found');
  assert.equal(redactQuerySecrets('/x?keys=1&mykey=2'), '/x?keys=1&mykey=2');
});

it('a request logger is made on its first message at an enabled level, and then logs with its bindings, redacted', () => {
  const { stream, lines } = memoryDestination();
  const logger = createLogger({ logLevel: 'warn' }, stream);
  let made = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    made += 1;
    return child(...args);
  }) as typeof logger.child;
  const requestLog = lazyChildLogger.call(undefined, logger, { reqId: 'req-1' }, {});
  requestLog.info('incoming request');
  requestLog.debug({ password: 'not-logged' }, 'details');
  assert.equal(made, 0, 'nothing at an enabled level: no child made');
  assert.equal(lines.length, 0);
  requestLog.warn({ password: 'hunter2-secret' }, 'something odd');
  requestLog.error('and worse');
  assert.equal(made, 1, 'one child, made once');
  const logged = lines.map((line) => JSON.parse(line));
  assert.deepEqual(logged.map((line) => [line.reqId, line.msg]), [['req-1', 'something odd'], ['req-1', 'and worse']]);
  assert.equal(logged[0].password, '[redacted]');
  assert.ok(!lines.join('').includes('hunter2-secret'));
});
