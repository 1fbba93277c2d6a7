import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startTestApp } from './helpers/app.js';

it('an unknown path answers 404, not 500', async () => {
  const t = await startTestApp();
  try {
    const res = await t.app.inject({ method: 'GET', url: '/no-such-page' });
    assert.equal(res.statusCode, 404);
  } finally {
    await t.close();
  }
});
