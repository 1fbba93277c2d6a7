import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backgroundJobs } from '../src/jobs.js';
import type { Job } from '../src/ops/job-table.js';
import { startTestApp, type TestApp } from './helpers/app.js';

describe('background jobs of the server', () => {
  let t: TestApp;
  let jobs: Job[];
  before(async () => {
    t = await startTestApp();
    jobs = backgroundJobs(t.runtime, t.app);
  });
  after(() => t.close());

  it('one list holds the retention sweep, the upstream token keeper and the authorization follower, each with its interval', () => {
    assert.deepEqual(
      jobs.map((job) => [job.name, job.intervalMs]),
      [
        ['retention', t.config.retention.sweepIntervalSeconds * 1000],
        ['upstream-token-keeper', 60_000],
        ['upstream-authorization-follower', 30_000],
      ],
    );
  });

  it('a retention run reports rows deleted per table and rule, and the time of the sweep, on /metrics', async () => {
    await t.runtime.store.rateWindows.hit('registration:old', 0);
    await jobs.find((job) => job.name === 'retention')!.run(new AbortController().signal);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /gatehouse_retention_rows_deleted_total\{table="rate_windows",rule="past"\} 1/);
    assert.match(metrics, /gatehouse_retention_last_sweep_rows\{table="refresh_tokens",rule="rotated"\} 0/);
    const at = Number(/^gatehouse_retention_last_sweep_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(Math.abs(at - Date.now() / 1000) < 3600, 'a recent Unix time in seconds');
  });
});
