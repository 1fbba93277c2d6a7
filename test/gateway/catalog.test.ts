import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createCatalog, findTool, type NamedKind } from '../../src/gateway/catalog.js';
import type { NameCollision } from '../../src/gateway/tool-names.js';
import { testUpstreamRegistry } from '../helpers/upstream-registry.js';

/** An upstream server with the given tools (each returns nothing) and prompts. */
function server(tools: string[], prompts: string[] = []): McpServer {
  const upstream = new McpServer({ name: 'catalog-test', version: '1.0.0' });
  for (const tool of tools) upstream.registerTool(tool, {}, () => ({ content: [] }));
  for (const prompt of prompts) upstream.registerPrompt(prompt, {}, () => ({ messages: [] }));
  return upstream;
}

describe('the catalog’s exposed names', () => {
  it('findTool maps bare names of an unprefixed upstream and prefixed names of the others, exactly', async (t) => {
    const registry = testUpstreamRegistry();
    t.after(() => registry.close());
    const plain = await registry.add({ name: 'plain', server: server(['search', 'web_fetch']), settings: { tool_name_prefix: false } });
    const web = await registry.add({ name: 'web', server: server(['search', 'fetch']) });
    const catalog = createCatalog(registry);
    await catalog.list('tools', registry.all());

    const resolved = (name: string) => {
      const found = findTool(registry, catalog, name);
      return found && [found.upstream.id, found.original];
    };
    assert.deepEqual(resolved('search'), [plain.id, 'search']);
    assert.deepEqual(resolved('web_search'), [web.id, 'search']);
    assert.deepEqual(resolved('web_fetch'), [web.id, 'fetch'], 'a prefixed name is never taken by a bare one');
    assert.deepEqual(resolved('plain_web_fetch'), [plain.id, 'web_fetch']);
    assert.equal(resolved('plain_search'), undefined, 'a tool has one exposed name only');
  });

  it('when a second unprefixed upstream lists the same tool, the bare name resolves to neither, and the collision is reported', async (t) => {
    const registry = testUpstreamRegistry();
    t.after(() => registry.close());
    const reports: Array<[NamedKind, NameCollision[]]> = [];
    const catalog = createCatalog(registry, { onNameCollisions: (kind, collisions) => reports.push([kind, collisions]) });
    const first = await registry.add({ name: 'first', server: server(['search'], ['summarize']), settings: { tool_name_prefix: false } });
    await catalog.list('tools', registry.all());
    assert.equal(findTool(registry, catalog, 'search')?.upstream.id, first.id);

    const second = await registry.add({ name: 'second', server: server(['search'], ['summarize']), settings: { tool_name_prefix: false } });
    await catalog.list('tools', registry.all());
    assert.equal(findTool(registry, catalog, 'search'), undefined);
    assert.equal(findTool(registry, catalog, 'first_search')?.upstream.id, first.id);
    assert.equal(findTool(registry, catalog, 'second_search')?.upstream.id, second.id);
    assert.deepEqual(
      reports.map(([kind, collisions]) => [kind, collisions.map((collision) => `${collision.upstream}:${collision.original} as ${collision.exposedAs}`)]),
      [['tools', ['first:search as first_search', 'second:search as second_search']]],
    );

    // Prompts follow the same rule, over the prompt lists.
    await catalog.list('prompts', registry.all());
    const prompts = catalog.names('prompts');
    assert.equal(prompts.resolve('summarize'), undefined);
    assert.deepEqual(prompts.resolve('second_summarize'), { upstreamId: second.id, original: 'summarize' });
    assert.equal(reports.at(-1)?.[0], 'prompts');
  });
});
