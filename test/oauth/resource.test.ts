import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveResource } from '../../src/oauth/resource.js';

const PUBLIC = 'https://gw.example';
const exists = async (name: string) => name === 'support';

describe('the resources Gatehouse issues tokens for', () => {
  it('absent means /mcp; /mcp with or without one trailing slash is /mcp', async () => {
    assert.equal(await resolveResource(undefined, PUBLIC, exists), 'https://gw.example/mcp');
    assert.equal(await resolveResource('https://gw.example/mcp/', PUBLIC, exists), 'https://gw.example/mcp');
    assert.equal(await resolveResource(['https://gw.example/mcp', 'https://gw.example/mcp/'], PUBLIC, exists), 'https://gw.example/mcp');
  });
  it('an existing virtual server\'s /mcp/{name} is its own resource; an unknown name, a deeper path or another host is not', async () => {
    assert.equal(await resolveResource('https://gw.example/mcp/support', PUBLIC, exists), 'https://gw.example/mcp/support');
    assert.equal(await resolveResource('https://gw.example/mcp/support/', PUBLIC, exists), 'https://gw.example/mcp/support');
    assert.equal(await resolveResource('https://gw.example/mcp/billing', PUBLIC, exists), undefined);
    assert.equal(await resolveResource('https://gw.example/mcp/support/x', PUBLIC, exists), undefined);
    assert.equal(await resolveResource('https://other.example/mcp/support', PUBLIC, exists), undefined);
  });
  it('two different resources in one request are refused', async () => {
    assert.equal(await resolveResource(['https://gw.example/mcp', 'https://gw.example/mcp/support'], PUBLIC, exists), undefined);
  });
});
