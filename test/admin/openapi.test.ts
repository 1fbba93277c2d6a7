import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { sendJson } from './api-client.js';

/** Every `METHOD path` the app routes, read from Fastify's own route tree, paths in OpenAPI `{param}` form. */
function servedOperations(app: FastifyInstance): Set<string> {
  const operations = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│├└─ ]*)(\S+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of match[3]?.split(', ') ?? []) if (method !== 'HEAD') operations.add(`${method} ${path}`);
  }
  return operations;
}

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { example?: unknown }> } }>>;
}

function documentedOperations(document: Document): Set<string> {
  return new Set(Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)));
}

describe('GET /openapi.json', () => {
  let t: TestApp;
  let document: Document;
  before(async () => {
    t = await startTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200, 'served without credentials');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    document = JSON.parse(res.body) as Document;
  });
  after(() => t.close());

  it('is an OpenAPI 3.1 document', () => {
    assert.equal(document.openapi, '3.1.0');
  });

  it('documents every /api route the app serves, and nothing under /api that it does not', () => {
    const underApi = (operations: Set<string>) => [...operations].filter((op) => op.split(' ')[1]!.startsWith('/api')).sort();
    const served = underApi(servedOperations(t.app));
    assert.ok(served.length >= 5, served.join(', '));
    assert.deepEqual(underApi(documentedOperations(document)), served);
  });

  it('every documented operation, /api or not, is served by the app', () => {
    for (const operation of documentedOperations(document)) {
      const [method, path] = operation.split(' ') as [HTTPMethods, string];
      assert.ok(t.app.hasRoute({ method, url: path.replace(/\{(\w+)\}/g, ':$1') }), `${operation} is documented but not served`);
    }
  });

  it('every $ref points at a component that exists', () => {
    const text = JSON.stringify(document);
    const refs = [...text.matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      const target = ref.split('/').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
      assert.ok(target, `#/${ref} does not resolve`);
    }
  });

  it('the request examples in the document are accepted by the API', async () => {
    for (const path of ['/api/users', '/api/apikeys', '/api/service-accounts']) {
      const example = document.paths[path]!.post!.requestBody!.content['application/json']!.example;
      const res = await sendJson(t, 'POST', path, example);
      assert.equal(res.statusCode, 201, `${path}: ${res.body}`);
    }
  });
});
