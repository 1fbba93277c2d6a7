import assert from 'node:assert/strict';
import { it } from 'node:test';
import { canonicalResource, isBoundResource } from '../../src/net/resource-uri.js';
import { gatewayResource } from '../../src/oauth/resource.js';

it('a server URL as a resource: no fragment, no trailing slash on a bare origin, paths and queries kept', () => {
  assert.equal(canonicalResource('https://mcp.example.com/'), 'https://mcp.example.com');
  assert.equal(canonicalResource('https://mcp.example.com/#x'), 'https://mcp.example.com');
  assert.equal(canonicalResource('https://mcp.example.com/mcp#x'), 'https://mcp.example.com/mcp');
  assert.equal(canonicalResource('https://mcp.example.com/mcp/'), 'https://mcp.example.com/mcp/');
  assert.equal(canonicalResource('https://mcp.example.com/?tenant=a'), 'https://mcp.example.com/?tenant=a');
});

it('Gatehouse’s own resource is its /mcp endpoint, the public URL as configured', () => {
  for (const publicUrl of ['http://127.0.0.1:8080', 'https://gate.example.com', 'https://gate.example.com/base', 'http://[::1]:9000']) {
    assert.equal(gatewayResource(publicUrl), `${publicUrl}/mcp`);
  }
});

it('a later request or an ID-JAG must name the resource already bound, one trailing slash tolerated', () => {
  assert.equal(isBoundResource('https://gw.example/mcp/support/', 'https://gw.example/mcp/support'), true);
  assert.equal(isBoundResource('https://gw.example/mcp/support', 'https://gw.example/mcp/support'), true);
  assert.equal(isBoundResource('https://gw.example/mcp', 'https://gw.example/mcp/support'), false);
  assert.equal(isBoundResource('https://gw.example/mcp//', 'https://gw.example/mcp'), false);
});
