import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../src/config.js';
import { createGatewayServer } from '../../src/gateway/gateway-server.js';
import { createGatewayState, type GatewayState } from '../../src/gateway/gateway-state.js';
import type { Principal } from '../../src/gateway/principal.js';
import { byUpstreamName, ownedItems, shadowedResourceLog } from '../../src/gateway/resource-owners.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { Upstream } from '../../src/upstream/types.js';
import { tempDir } from '../helpers/backends.js';
import { testUpstreamRegistry, type TestRegistry } from '../helpers/upstream-registry.js';

const ann: Principal = { userId: 'user_ann', username: 'ann', clientId: 'client_1', grantId: 'grant_1', scopes: new Set(['mcp:read', 'mcp:write']), via: 'access_token' };
const bob: Principal = { ...ann, userId: 'user_bob', username: 'bob' };

const upstreamNamed = (name: string): Upstream => ({
  id: `ups_${name}`,
  settings: { name, connection_type: 'in_process', auth_type: 'none', timeout_ms: 1000 },
  status: () => ({ state: 'connected', since: 0 }),
  client: () => undefined,
});

describe('which upstream serves a resource URI that several offer', () => {
  const [alpha, beta, gamma] = ['alpha', 'beta', 'gamma'].map(upstreamNamed) as [Upstream, Upstream, Upstream];

  it('orders upstreams by name, whatever order they were configured or listed in', () => {
    const lists = [gamma, alpha, beta].map((upstream) => ({ upstream, listed: { items: [] } }));
    assert.deepEqual(byUpstreamName(lists).map((list) => list.upstream.settings.name), ['alpha', 'beta', 'gamma']);
  });

  it('lists each URI (and each template) once, the first upstream’s entry, and names what the others offered too', () => {
    const lists = [
      { upstream: alpha, listed: { items: [{ uri: 'doc://a', name: 'alpha a' }, { uri: 'doc://shared', name: 'alpha shared' }] } },
      { upstream: beta, listed: { items: [{ uri: 'doc://shared', name: 'beta shared' }, { uri: 'doc://b', name: 'beta b' }] } },
      { upstream: gamma, listed: { items: [{ uri: 'doc://shared', name: 'gamma shared' }] } },
    ];
    const { items, shadowed } = ownedItems('resources', lists);
    assert.deepEqual(items, [{ uri: 'doc://a', name: 'alpha a' }, { uri: 'doc://shared', name: 'alpha shared' }, { uri: 'doc://b', name: 'beta b' }]);
    assert.deepEqual(shadowed.map((entry) => [entry.key, entry.owner.settings.name, entry.shadowed.settings.name]), [
      ['doc://shared', 'alpha', 'beta'],
      ['doc://shared', 'alpha', 'gamma'],
    ]);
    const templates = ownedItems('resourceTemplates', [
      { upstream: alpha, listed: { items: [{ uriTemplate: 'doc://{id}', name: 'alpha' }] } },
      { upstream: beta, listed: { items: [{ uriTemplate: 'doc://{id}', name: 'beta' }] } },
    ]);
    assert.deepEqual(templates.items, [{ uriTemplate: 'doc://{id}', name: 'alpha' }]);
  });

  it('logs each pair of clashing upstreams once, naming the URIs and how many there were', () => {
    const warnings: Array<{ details: object; message: string }> = [];
    const log = shadowedResourceLog({ warn: (details, message) => warnings.push({ details, message }) });
    const clash = (key: string, shadowedBy = beta) => ({ kind: 'resources' as const, key, owner: alpha, shadowed: shadowedBy });
    log([clash('doc://1'), clash('doc://2')]);
    log([clash('doc://1'), clash('doc://3')]);
    log([clash('doc://1', gamma)]);
    assert.deepEqual(warnings.map((warning) => warning.details), [
      { kind: 'resources', owner: 'alpha', shadowed: 'beta', uris: ['doc://1', 'doc://2'], count: 2 },
      { kind: 'resources', owner: 'alpha', shadowed: 'gamma', uris: ['doc://1'], count: 1 },
    ]);
    assert.match(warnings[0]!.message, /the upstream whose name comes first serves them/);
  });
});

/** An upstream listing `shared://doc` and a template `shared://notes/{id}`, its answers naming it; it records subscriptions. */
function clashingServer(name: string, subscribed: string[]) {
  const server = new McpServer({ name, version: '1.0.0' });
  server.registerResource(`${name} doc`, 'shared://doc', { mimeType: 'text/plain' }, (uri) => ({ contents: [{ uri: uri.href, text: `doc of ${name}` }] }));
  server.registerResource(`${name} note`, new ResourceTemplate('shared://notes/{id}', { list: undefined }), {}, (uri, { id }) => ({
    contents: [{ uri: uri.href, text: `note ${String(id)} of ${name}` }],
  }));
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => (subscribed.push(`${name} ${request.params.uri}`), {}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, () => ({}));
  return server;
}

describe('two upstreams offering the same resource URIs, through a 2025 session', () => {
  let runtime: Runtime;
  let registry: TestRegistry;
  let gateway: GatewayState;
  let dir: ReturnType<typeof tempDir>;
  const subscribed: string[] = [];
  const warnings: object[] = [];

  before(async () => {
    dir = tempDir();
    runtime = await openRuntime(loadConfig({ dataDir: dir.dir, noDemo: true }, {}));
    registry = testUpstreamRegistry();
    // Configured second, named first: the name decides.
    await registry.add({ name: 'zulu', server: clashingServer('zulu', subscribed) });
    await registry.add({ name: 'bravo', server: clashingServer('bravo', subscribed) });
    gateway = createGatewayState({ registry, deps: runtime, logger: { warn: (details) => void warnings.push(details) } });
  });
  after(async () => {
    gateway.close();
    await registry.close();
    await runtime.close();
    dir.remove();
  });

  const connect = async (principal = ann) => {
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createGatewayServer({ principal, gateway }).connect(serverSide);
    await client.connect(clientSide);
    return client;
  };

  it('lists the URI and the template once, reads and subscribes at the upstream whose name comes first, and warns once', async () => {
    const client = await connect();
    assert.deepEqual((await client.listResources()).resources.map((resource) => [resource.uri, resource.name]), [['shared://doc', 'bravo doc']]);
    assert.deepEqual((await client.listResourceTemplates()).resourceTemplates.map((template) => [template.uriTemplate, template.name]), [['shared://notes/{id}', 'bravo note']]);
    assert.deepEqual((await client.readResource({ uri: 'shared://doc' })).contents, [{ uri: 'shared://doc', text: 'doc of bravo' }]);
    assert.deepEqual((await client.readResource({ uri: 'shared://notes/7' })).contents, [{ uri: 'shared://notes/7', text: 'note 7 of bravo' }]);
    await client.subscribeResource({ uri: 'shared://doc' });
    assert.deepEqual(subscribed, ['bravo shared://doc']);

    await (await connect()).listResources();
    assert.deepEqual(warnings, [
      { kind: 'resources', owner: 'bravo', shadowed: 'zulu', uris: ['shared://doc'], count: 1 },
      { kind: 'resourceTemplates', owner: 'bravo', shadowed: 'zulu', uris: ['shared://notes/{id}'], count: 1 },
    ]);
  });

  it('serves the URI from the other upstream for a user who may not see the first, subscriptions included', async () => {
    const bravo = registry.all().find((upstream) => upstream.settings.name === 'bravo')!;
    const allowed = bravo.settings.allowed_users;
    bravo.settings.allowed_users = ['ann'];
    try {
      const client = await connect(bob);
      assert.deepEqual((await client.listResources()).resources.map((resource) => resource.name), ['zulu doc']);
      assert.deepEqual((await client.readResource({ uri: 'shared://doc' })).contents, [{ uri: 'shared://doc', text: 'doc of zulu' }]);
      // Ann holds the URI at bravo (above); Bob's subscription is his own, at zulu.
      await client.subscribeResource({ uri: 'shared://doc' });
      assert.deepEqual(subscribed, ['bravo shared://doc', 'zulu shared://doc']);
    } finally {
      bravo.settings.allowed_users = allowed;
    }
  });
});
