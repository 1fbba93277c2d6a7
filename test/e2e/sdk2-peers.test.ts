import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as Sdk2Client, StreamableHTTPClientTransport as Sdk2Transport } from '@modelcontextprotocol/client';
import { Client as Sdk1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Sdk1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/upstreams/http-server.js';
import { startSdk2Upstream, type Sdk2Upstream } from '../fixtures/upstreams/sdk2-server.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { MODERN_VERSION } from '../helpers/modern-requests.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The MCP TypeScript SDK 2.x (`@modelcontextprotocol/client` and `/server` 2.4.0, MCP 2026-07-28) as Gatehouse's
 * peers: the 2.x client, pinned to 2026-07-28, at `/mcp` in front of a 2.x server (test/fixtures/upstreams/
 * sdk2-server.ts) and a 2025 SDK 1.x server; and a 2025 SDK 1.x client reaching the 2.x server through Gatehouse.
 */

const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

describe('the MCP SDK 2.x as client and upstream of Gatehouse', { timeout: 60_000 }, () => {
  const files = tempDir('gatehouse-sdk2-');
  let two: Sdk2Upstream;
  let old: HttpUpstream;
  let t: TestApp;
  let url: URL;
  let bearer: string;

  /** A 2.x client pinned to 2026-07-28 that answers elicitations with `confirm`, connected to Gatehouse. */
  async function modernClient(options: { confirm?: boolean; onToolsChanged?: () => void } = {}): Promise<Sdk2Client> {
    const client = new Sdk2Client(
      { name: 'sdk2-client', version: '2.4.0' },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN_VERSION } } },
    );
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { confirm: options.confirm ?? true } }));
    if (options.onToolsChanged) client.setNotificationHandler('notifications/tools/list_changed', options.onToolsChanged);
    await client.connect(new Sdk2Transport(url, { requestInit: { headers: { authorization: bearer } } }));
    return client;
  }

  before(async () => {
    two = await startSdk2Upstream();
    old = await startHttpUpstream({ name: 'sdk1-fixture' });
    const config = path.join(files.dir, 'gatehouse.json');
    writeFileSync(config, JSON.stringify({
      upstreams: [
        { name: 'two', connection_type: 'http', connection_string: two.url },
        { name: 'old', connection_type: 'http', connection_string: old.url },
      ],
    }));
    t = await startTestApp({ listen: true, flags: { config, noDemo: true } });
    await waitFor('both upstreams connected', () => (t.runtime.upstreams.all().every((upstream) => upstream.status().state === 'connected') ? true : undefined));
    const ann = await t.runtime.users.create({ username: 'ann', password: 'ann-Password-1' });
    bearer = `Bearer ${(await t.runtime.apiKeys.create({ user: ann, name: 'sdk2' })).token}`;
    url = new URL('/mcp', t.url);
  });
  after(async () => {
    await t?.close();
    await two?.close();
    await old?.close();
    files.remove();
  });

  it('talks 2026-07-28 to the 2.x upstream (server/discover, no initialize)', () => {
    const upstream = t.runtime.upstreams.all().find((candidate) => candidate.settings.name === 'two')!;
    const status = upstream.status();
    assert.deepEqual(status.state === 'connected' ? status.protocol : undefined, { era: 'stateless', version: MODERN_VERSION });
    assert.ok(two.methods.includes('server/discover'));
    assert.ok(!two.methods.includes('initialize'));
  });

  describe('a 2.x client at /mcp', () => {
    it('connects in 2026-07-28 through server/discover', async () => {
      const client = await modernClient();
      try {
        assert.deepEqual([client.getProtocolEra(), client.getNegotiatedProtocolVersion()], ['modern', MODERN_VERSION]);
        assert.equal(client.getServerVersion()?.name, 'gatehouse');
        assert.equal(client.getServerCapabilities()?.tools?.listChanged, true);
      } finally {
        await client.close();
      }
    });

    it('lists the tools of both eras’ upstreams under Gatehouse’s names, with the aggregated cache hint', async () => {
      const client = await modernClient();
      try {
        const listed = await client.listTools(undefined, { cacheMode: 'bypass' });
        assert.deepEqual(listed.tools.map((tool) => tool.name).filter((name) => name.startsWith('two_')).sort(), ['two_deploy', 'two_echo']);
        assert.ok(listed.tools.some((tool) => tool.name === 'old_echo'));
        // The 2025 upstream's list carries no hint, so the merged list is immediately stale and private.
        const hints = listed as unknown as { ttlMs?: number; cacheScope?: string };
        assert.deepEqual([hints.ttlMs, hints.cacheScope], [0, 'private']);
      } finally {
        await client.close();
      }
    });

    it('calls a tool of the 2.x upstream and one of the 2025 upstream', async () => {
      const client = await modernClient();
      try {
        assert.equal(textOf(await client.callTool({ name: 'two_echo', arguments: { text: 'to sdk2' } })), 'to sdk2');
        assert.equal(textOf(await client.callTool({ name: 'old_echo', arguments: { text: 'to sdk1' } })), 'to sdk1');
      } finally {
        await client.close();
      }
    });

    it('answers the 2.x upstream’s input_required elicitation through its own multi-round-trip support', async () => {
      const yes = await modernClient({ confirm: true });
      const no = await modernClient({ confirm: false });
      try {
        assert.equal(textOf(await yes.callTool({ name: 'two_deploy', arguments: { env: 'prod' } })), 'deployed to prod');
        assert.equal(textOf(await no.callTool({ name: 'two_deploy', arguments: { env: 'prod' } })), 'not deployed');
      } finally {
        await yes.close();
        await no.close();
      }
    });

    it('hears a list change of the 2.x upstream on its subscriptions/listen stream', async () => {
      let changes = 0;
      const client = await modernClient({ onToolsChanged: () => void changes++ });
      try {
        const subscription = await client.listen({ toolsListChanged: true });
        assert.equal(subscription.honoredFilter.toolsListChanged, true);
        two.announceToolsChanged();
        await waitFor('the list change on the listen stream', () => (changes > 0 ? true : undefined));
        await subscription.close();
      } finally {
        await client.close();
      }
    });
  });

  describe('a 2025 SDK 1.x client reaching the 2.x upstream', () => {
    it('lists and calls its tools in a 2025 session', async () => {
      const client = new Sdk1Client({ name: 'sdk1-client', version: '1.0.0' });
      await client.connect(new Sdk1Transport(url, { requestInit: { headers: { authorization: bearer } } }));
      try {
        const { tools } = await client.listTools();
        assert.ok(tools.some((tool) => tool.name === 'two_echo'));
        assert.equal(textOf(await client.callTool({ name: 'two_echo', arguments: { text: 'from 2025' } })), 'from 2025');
      } finally {
        await client.close();
      }
    });
  });
});
