import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { metricsPlugin, registerAuditWriteMetrics } from '../../src/ops/metrics.js';
import { opsRoutes } from '../../src/ops/routes.js';
import { openPostgres } from '../../src/store/postgres.js';
import { startTestApp } from '../helpers/app.js';
import { backends, freshPostgresSchema, openTestStore } from '../helpers/backends.js';

/** The value of one sample line, e.g. `name{a="b"} 3`, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(app: { inject: (o: { method: 'GET'; url: string }) => Promise<{ body: string }> }): Promise<string> {
  return (await app.inject({ method: 'GET', url: '/metrics' })).body;
}

it('requests are counted by method, route template and status, and timed by route', async () => {
  const store = await openTestStore('sqlite');
  const app = Fastify();
  try {
    await app.register(metricsPlugin, { database: store.database });
    await app.register(opsRoutes, { database: store.database });
    app.get('/things/:id', async (request, reply) => reply.code((request.params as { id: string }).id === 'missing' ? 404 : 200).send({}));
    await app.inject({ method: 'GET', url: '/things/1' });
    await app.inject({ method: 'GET', url: '/things/2' });
    await app.inject({ method: 'GET', url: '/things/missing' });
    const text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_http_requests_total{method="GET",route="/things/:id",status_code="200"}'), 2);
    assert.equal(sample(text, 'gatehouse_http_requests_total{method="GET",route="/things/:id",status_code="404"}'), 1);
    assert.equal(sample(text, 'gatehouse_http_request_duration_seconds_count{method="GET",route="/things/:id"}'), 3);
    assert.ok(!text.includes('/things/1'), 'raw paths never become labels');
  } finally {
    await app.close();
    await store.close();
  }
});

it('the pool gauges follow the PostgreSQL pool at scrape time', async () => {
  const schema = await freshPostgresSchema();
  const database = openPostgres(schema.url, { max: 2 });
  const app = Fastify();
  try {
    await app.register(metricsPlugin, { database });
    await app.register(opsRoutes, { database });
    assert.equal(sample(await scrape(app), 'gatehouse_db_pool_connections{state="total"}'), 0);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    // A transaction keeps one connection checked out until it is released.
    const transaction = database.transaction(async () => {
      entered();
      await held;
    });
    await inside;
    let text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_db_pool_connections{state="total"}'), 1);
    assert.equal(sample(text, 'gatehouse_db_pool_connections{state="idle"}'), 0);
    release();
    await transaction;
    text = await scrape(app);
    assert.equal(sample(text, 'gatehouse_db_pool_connections{state="total"}'), 1);
    assert.equal(sample(text, 'gatehouse_db_pool_connections{state="idle"}'), 1);
    assert.equal(sample(text, 'gatehouse_db_pool_connections{state="waiting"}'), 0);
  } finally {
    await app.close();
    await database.close();
    await schema.drop();
  }
});

it('failed audit rows are counted per stream as the batched stores report them, each row once', async () => {
  const registry = new Registry();
  const failedRows = { tool_calls: 0, audit_events: 0 };
  registerAuditWriteMetrics(registry, { failedRows });
  failedRows.tool_calls = 2;
  assert.equal(sample(await registry.metrics(), 'gatehouse_audit_write_failures_total{stream="tool_calls"}'), 2);
  failedRows.tool_calls = 3;
  failedRows.audit_events = 1;
  const text = await registry.metrics();
  assert.equal(sample(text, 'gatehouse_audit_write_failures_total{stream="tool_calls"}'), 3);
  assert.equal(sample(text, 'gatehouse_audit_write_failures_total{stream="audit_events"}'), 1);
});

it('two apps in one process keep separate counts', async () => {
  const first = await startTestApp();
  const second = await startTestApp();
  try {
    await first.app.inject({ method: 'GET', url: '/health' });
    await first.app.inject({ method: 'GET', url: '/health' });
    await second.app.inject({ method: 'GET', url: '/health' });
    const series = 'gatehouse_http_requests_total{method="GET",route="/health",status_code="200"}';
    assert.equal(sample(await scrape(first.app), series), 2);
    assert.equal(sample(await scrape(second.app), series), 1);
  } finally {
    await first.close();
    await second.close();
  }
});

for (const backend of backends) {
  describe(`metrics of the full app on ${backend}`, () => {
    it('unknown paths share the "unmatched" route label and the pool gauges are real', async () => {
      const t = await startTestApp({ backend });
      try {
        await t.app.inject({ method: 'GET', url: '/no-such-page-1' });
        await t.app.inject({ method: 'GET', url: '/no-such-page-2' });
        await t.app.inject({ method: 'GET', url: '/ready' });
        const text = await scrape(t.app);
        assert.equal(sample(text, 'gatehouse_http_requests_total{method="GET",route="unmatched",status_code="404"}'), 2);
        assert.ok(!text.includes('no-such-page'));
        assert.equal(sample(text, 'gatehouse_http_requests_total{method="GET",route="/ready",status_code="200"}'), 1);
        const total = sample(text, 'gatehouse_db_pool_connections{state="total"}');
        assert.ok(total !== undefined && total >= 1, `pool total ${total}`);
        assert.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics are collected');
      } finally {
        await t.close();
      }
    });
  });
}
