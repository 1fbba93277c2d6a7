import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAVICON_URL, STYLESHEET_URL } from '../../src/web/assets.js';
import { STYLESHEET } from '../../src/web/styles.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('static assets', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('serves the stylesheet as CSS, with nosniff and a cache lifetime', async () => {
    const res = await t.app.inject({ method: 'GET', url: STYLESHEET_URL });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.headers['cache-control'] as string, /max-age=\d+/);
    assert.equal(res.body, STYLESHEET);
  });

  it('serves the favicon as SVG', async () => {
    const res = await t.app.inject({ method: 'GET', url: FAVICON_URL });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/svg+xml');
    assert.match(res.body, /^<svg /);
  });

  it('pages link the stylesheet by its versioned URL', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/login' });
    assert.ok(res.body.includes(`<link rel="stylesheet" href="${STYLESHEET_URL}">`));
    assert.match(STYLESHEET_URL, /^\/static\/gatehouse\.css\?v=[\w-]{12}$/);
  });
});
