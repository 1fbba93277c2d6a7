import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostCheck } from '../../src/gateway/host-check.js';

const hostAllowed = (host: string | undefined, publicUrl: string) => hostCheck(publicUrl)(host);
import { startTestApp } from '../helpers/app.js';

describe('Host check on /mcp (DNS rebinding)', () => {
  it('accepts the public URL host, and any loopback name while the public URL is on loopback', () => {
    assert.equal(hostAllowed('gh.example.com', 'https://gh.example.com'), true);
    assert.equal(hostAllowed('GH.example.com:443', 'https://gh.example.com'), true);
    assert.equal(hostAllowed('localhost:8080', 'http://127.0.0.1:8080'), true);
    assert.equal(hostAllowed('[::1]:8080', 'http://localhost:8080'), true);
  });

  it('refuses another host, a loopback name for a public server, and a missing or malformed Host', () => {
    assert.equal(hostAllowed('evil.example.com', 'http://127.0.0.1:8080'), false);
    assert.equal(hostAllowed('evil.example.com', 'https://gh.example.com'), false);
    assert.equal(hostAllowed('localhost', 'https://gh.example.com'), false);
    assert.equal(hostAllowed(undefined, 'https://gh.example.com'), false);
    assert.equal(hostAllowed('bad host/', 'https://gh.example.com'), false);
  });

  it('a request to /mcp carrying a foreign Host gets 403 before any credential is looked at', async () => {
    const t = await startTestApp();
    try {
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const payload = { jsonrpc: '2.0', id: 1, method: 'ping' };
      const foreign = await t.app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, host: 'evil.example.com', origin: 'http://evil.example.com' }, payload });
      assert.equal(foreign.statusCode, 403);
      assert.match(foreign.json().error.message, /evil\.example\.com/);
      const local = await t.app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, host: 'localhost' }, payload });
      assert.equal(local.statusCode, 401, 'a loopback Host goes on to the bearer guard');
    } finally {
      await t.close();
    }
  });
});
