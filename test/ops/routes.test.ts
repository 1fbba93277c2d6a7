import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { metricsPlugin } from '../../src/ops/metrics.js';
import { opsRoutes } from '../../src/ops/routes.js';
import packageJson from '../../package.json' with { type: 'json' };
import { openPostgres } from '../../src/store/postgres.js';
import { startTestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';

for (const backend of backends) {
  describe(`operations endpoints on ${backend}`, () => {
    it('/health answers ok and /ready answers ready while the database is reachable', async () => {
      const t = await startTestApp({ backend });
      try {
        const health = await t.app.inject({ method: 'GET', url: '/health' });
        assert.equal(health.statusCode, 200);
        assert.deepEqual(health.json(), { status: 'ok', version: packageJson.version });
        const ready = await t.app.inject({ method: 'GET', url: '/ready' });
        assert.equal(ready.statusCode, 200);
        assert.deepEqual(ready.json(), { status: 'ready' });
      } finally {
        await t.close();
      }
    });

    it('/ready answers 503 once the database is closed, while /health stays ok', async () => {
      const t = await startTestApp({ backend });
      const database = t.runtime.store.database;
      try {
        await database.close();
        const ready = await t.app.inject({ method: 'GET', url: '/ready' });
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(ready.json(), { status: 'unavailable', reason: 'database unreachable' });
        assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
      } finally {
        // The runtime's own close closes the database a second time, which waits for the first: nothing is left open.
        await t.close();
      }
    });
  });
}

it('/ready answers 503 when the database does not answer in time', async () => {
  const t = await startTestApp({ backend: 'sqlite' });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  // SQLite serialises statements behind an open transaction, so the ping waits for as long as this one is held.
  const transaction = t.runtime.store.database.transaction(() => held);
  try {
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().status, 'unavailable');
    assert.match(ready.json().reason, /did not answer within/);
  } finally {
    release();
    await transaction;
    await t.close();
  }
});

it('an unreachable PostgreSQL makes /ready 503 without naming the host, user or password', async () => {
  const database = openPostgres('postgres://gh_ops_user:s3cret-Pa55@127.0.0.1:1/nowhere');
  const app = Fastify();
  try {
    await app.register(metricsPlugin, { database });
    await app.register(opsRoutes, { database });
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().status, 'unavailable');
    for (const secret of ['s3cret-Pa55', 'gh_ops_user', '127.0.0.1', 'nowhere']) assert.ok(!ready.body.includes(secret), secret);
  } finally {
    await app.close();
    await database.close();
  }
});

it('/metrics answers Prometheus text with the registry content type', async () => {
  const t = await startTestApp();
  try {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^# HELP /m);
    assert.match(res.body, /^# TYPE gatehouse_http_requests_total counter$/m);
  } finally {
    await t.close();
  }
});

it('with GATEHOUSE_METRICS_TOKEN set, /metrics answers only that bearer token; /health and /ready stay open', async () => {
  const t = await startTestApp({ env: { GATEHOUSE_METRICS_TOKEN: 'scrape-Token-1' } });
  try {
    for (const authorization of [undefined, 'Bearer wrong-token', 'Basic c2NyYXBlOnNjcmFwZS1Ub2tlbi0x', 'Bearer scrape-Token-1x']) {
      const refused = await t.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
      assert.equal(refused.statusCode, 401, String(authorization));
      assert.match(String(refused.headers['www-authenticate']), /^Bearer /);
      assert.doesNotMatch(refused.body, /gatehouse_http_requests_total/);
    }
    const scraped = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-Token-1' } });
    assert.equal(scraped.statusCode, 200);
    assert.match(scraped.body, /gatehouse_http_requests_total/);
    assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  } finally {
    await t.close();
  }
});
