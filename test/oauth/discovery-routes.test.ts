import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OAuthMetadataSchema, OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const AS_PATHS = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];
const PRM_PATHS = ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'];

describe('discovery endpoints over http', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ flags: { publicUrl: 'https://gatehouse.example.com/gh/' } });
  });
  after(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

  it('serves the same authorization server metadata at both names, issuer byte-identical to the public URL', async () => {
    const bodies = [];
    for (const path of AS_PATHS) {
      const res = await get(path);
      assert.equal(res.statusCode, 200, path);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      const body = OAuthMetadataSchema.parse(res.json());
      assert.equal(body.issuer, 'https://gatehouse.example.com/gh');
      assert.equal(body.authorization_endpoint, 'https://gatehouse.example.com/gh/oauth/authorize');
      bodies.push(res.body);
    }
    assert.equal(bodies[0], bodies[1]);
  });

  it('serves the protected resource metadata at the root and the path-inserted /mcp form, naming /mcp as the resource', async () => {
    for (const path of PRM_PATHS) {
      const res = await get(path);
      assert.equal(res.statusCode, 200, path);
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      const body = OAuthProtectedResourceMetadataSchema.parse(res.json());
      assert.equal(body.resource, 'https://gatehouse.example.com/gh/mcp');
      assert.deepEqual(body.authorization_servers, ['https://gatehouse.example.com/gh']);
      assert.deepEqual(body.bearer_methods_supported, ['header']);
    }
  });

  it('serves the path-inserted forms of a public URL with a path', async () => {
    for (const path of ['/.well-known/oauth-authorization-server/gh', '/.well-known/oauth-protected-resource/gh/mcp']) {
      assert.equal((await get(path)).statusCode, 200, path);
    }
  });

  it('answers unknown well-known paths with a JSON 404, never a page or a 5xx', async () => {
    for (const path of ['/.well-known/nothing-here', '/.well-known/oauth-authorization-server/other', '/.well-known/oauth-protected-resource/elsewhere', '/.well-known/']) {
      const res = await get(path);
      assert.equal(res.statusCode, 404, path);
      assert.match(String(res.headers['content-type']), /^application\/json/, path);
      assert.equal(res.json().error, 'not_found');
    }
  });

  it('lets browser-based clients read every document cross-origin and answers their preflights', async () => {
    for (const path of [...AS_PATHS, ...PRM_PATHS]) {
      const res = await get(path, { origin: 'https://inspector.example' });
      assert.equal(res.headers['access-control-allow-origin'], '*', path);
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: path,
        headers: { origin: 'https://inspector.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'mcp-protocol-version' },
      });
      assert.equal(preflight.statusCode, 204, path);
      assert.equal(preflight.headers['access-control-allow-origin'], '*');
      assert.match(String(preflight.headers['access-control-allow-headers']), /MCP-Protocol-Version/);
      assert.match(String(preflight.headers['access-control-allow-methods']), /GET/);
    }
  });
});

describe('discovery endpoints of a root issuer', () => {
  it('the issuer is the public URL without a trailing slash and the resource is its /mcp', async () => {
    const t = await startTestApp();
    try {
      const metadata = (await t.app.inject({ method: 'GET', url: AS_PATHS[0]! })).json();
      assert.equal(metadata.issuer, t.config.publicUrl);
      assert.ok(!metadata.issuer.endsWith('/'));
      const resource = (await t.app.inject({ method: 'GET', url: PRM_PATHS[1]! })).json();
      assert.equal(resource.resource, `${t.config.publicUrl}/mcp`);
    } finally {
      await t.close();
    }
  });
});
