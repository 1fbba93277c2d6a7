import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client as Sdk2Client, StreamableHTTPClientTransport as Sdk2Transport, UnauthorizedError, type VersionNegotiationOptions } from '@modelcontextprotocol/client';
import { Client as Sdk1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Sdk1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';
import { SDK2_NOTE_TTL_MS, SDK2_NOTE_URI, SDK2_TOOLS_TTL_MS, startSdk2Upstream, type Sdk2Upstream } from '../fixtures/upstreams/sdk2-server.js';
import { startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { upstreamsConfig } from '../helpers/config-files.js';
import { HeadlessOAuthProvider } from '../helpers/mcp-session.js';
import { MODERN_VERSION } from '../helpers/modern-requests.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The MCP TypeScript SDK 2.x (`@modelcontextprotocol/client` and `/server` 2.4.0, MCP 2026-07-28) as Gatehouse's
 * peers: the 2.x client, pinned to 2026-07-28, at `/mcp` in front of a 2.x server (test/fixtures/upstreams/
 * sdk2-server.ts, over HTTP and over stdio) and a 2025 SDK 1.x server (the conformance upstream); and a 2025 SDK 1.x client reaching the 2.x
 * server through Gatehouse. Every 2.x client must end without an error reported to its `onerror`.
 */

const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
/** The cache hint fields of a 2026-07-28 result, which the SDKs' result types do not name. */
const hintOf = (result: unknown) => {
  const { ttlMs, cacheScope } = result as { ttlMs?: number; cacheScope?: string };
  return [ttlMs, cacheScope];
};

interface Closable {
  close(): Promise<void>;
}

/** Runs `use` with `client`, closing it afterwards whatever happens. */
async function using<C extends Closable>(client: C | Promise<C>, use: (client: C) => Promise<void>): Promise<void> {
  const open = await client;
  try {
    await use(open);
  } finally {
    await open.close();
  }
}

/** The 2.x upstream over stdio, a child of Gatehouse. */
const SDK2_STDIO = { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/upstreams/sdk2-stdio-server.ts'] };

/** A listening Gatehouse with the HTTP upstreams `urls` (name → URL) and `stdio` ones, all connected, and user Ann's API key. */
interface Gatehouse {
  t: TestApp;
  url: URL;
  bearer: string;
  close(): Promise<void>;
}

async function openGatehouse(urls: Record<string, string>, stdio: Record<string, typeof SDK2_STDIO> = {}): Promise<Gatehouse> {
  const config = upstreamsConfig([
    ...Object.entries(urls).map(([name, url]) => ({ name, connection_type: 'http', connection_string: url })),
    ...Object.entries(stdio).map(([name, stdioConfig]) => ({ name, connection_type: 'stdio', stdio_config: stdioConfig })),
  ]);
  const t = await startTestApp({ listen: true, flags: { config: config.file, noDemo: true } });
  await waitFor('every upstream connected', () => (t.runtime.upstreams.all().every((upstream) => upstream.status().state === 'connected') ? true : undefined));
  const ann = await t.runtime.users.create({ username: 'ann', password: 'ann-Password-1' });
  const bearer = `Bearer ${(await t.runtime.apiKeys.create({ user: ann, name: 'sdk2' })).token}`;
  return { t, url: new URL('/mcp', t.url), bearer, close: async () => (await t.close(), config.remove()) };
}

describe('the MCP SDK 2.x as client and upstream of Gatehouse', { timeout: 60_000 }, () => {
  let two: Sdk2Upstream;
  let old: ConformanceUpstream;
  let gatehouse: Gatehouse;
  let t: TestApp;
  let url: URL;
  let bearer: string;
  const clientErrors: Error[] = [];

  interface ModernClientOptions {
    /** The Gatehouse to connect to (the one with both upstreams unless told). */
    at?: Gatehouse;
    confirm?: boolean;
    onToolsChanged?: () => void;
    negotiation?: VersionNegotiationOptions;
    /** Gets the `Mcp-Method` of every POST the client sends. */
    sent?: string[];
    listChanged?: boolean;
  }

  /** A 2.x client (pinned to 2026-07-28 unless told) that answers elicitations with `confirm` and samples "Paris". */
  async function modernClient(options: ModernClientOptions = {}): Promise<Sdk2Client> {
    const at = options.at ?? gatehouse;
    const client = new Sdk2Client(
      { name: 'sdk2-client', version: '2.4.0' },
      {
        capabilities: { elicitation: { form: {} }, sampling: {} },
        versionNegotiation: options.negotiation ?? { mode: { pin: MODERN_VERSION } },
        ...(options.listChanged ? { listChanged: { tools: { onChanged: () => undefined } } } : {}),
      },
    );
    client.onerror = (error) => void clientErrors.push(error);
    client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'test-model', content: { type: 'text', text: 'Paris' } }));
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { confirm: options.confirm ?? true, name: 'Ann' } }));
    if (options.onToolsChanged) client.setNotificationHandler('notifications/tools/list_changed', options.onToolsChanged);
    const recording = async (input: string | URL, init?: RequestInit) => {
      if (init?.method === 'POST') options.sent?.push(new Headers(init.headers).get('mcp-method') ?? '');
      return fetch(input, init);
    };
    await client.connect(new Sdk2Transport(at.url, { requestInit: { headers: { authorization: at.bearer } }, fetch: recording }));
    return client;
  }

  /** A 2025 SDK 1.x client in a session at Gatehouse, declaring form elicitation. */
  async function legacyClient(onElicit?: (message: string) => void): Promise<Sdk1Client> {
    const client = new Sdk1Client({ name: 'sdk1-client', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      onElicit?.(request.params.message);
      return { action: 'accept', content: { confirm: true, name: 'Ann' } };
    });
    await client.connect(new Sdk1Transport(url, { requestInit: { headers: { authorization: bearer } } }));
    return client;
  }

  /** Starts the 2.x upstream's `wait` with `callWait`, aborts it once it arrived, and sees the upstream cancel it. */
  async function cancelsWait(label: string, callWait: (params: { name: string; arguments: { label: string } }, signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const arrived = () => two.requests.filter((headers) => headers['mcp-name'] === 'wait').length;
    const before = arrived();
    const controller = new AbortController();
    const call = callWait({ name: 'two_wait', arguments: { label } }, controller.signal);
    await waitFor('the call reaching the upstream', () => (arrived() > before ? true : undefined));
    controller.abort();
    await assert.rejects(call);
    await waitFor('the upstream call cancelled', () => (two.cancelled.includes(label) ? true : undefined));
  }

  before(async () => {
    two = await startSdk2Upstream();
    old = await startConformanceUpstream();
    gatehouse = await openGatehouse({ two: two.url, old: old.url }, { local: SDK2_STDIO });
    ({ t, url, bearer } = gatehouse);
  });
  after(async () => {
    await gatehouse?.close();
    await two?.close();
    await old?.close();
    assert.deepEqual(clientErrors.map(String), []);
  });

  it('talks 2026-07-28 to the 2.x upstream over HTTP and over stdio (server/discover, no initialize)', () => {
    for (const name of ['two', 'local']) {
      const status = t.runtime.upstreams.all().find((candidate) => candidate.settings.name === name)!.status();
      assert.deepEqual(status.state === 'connected' ? status.protocol : undefined, { era: 'stateless', version: MODERN_VERSION }, name);
    }
    const methods = two.requests.map((headers) => headers['mcp-method']);
    assert.ok(methods.includes('server/discover'));
    assert.ok(!methods.includes('initialize'));
  });

  describe('a 2.x client at /mcp', () => {
    it('connects in 2026-07-28 through server/discover', () =>
      using(modernClient(), async (client) => {
        assert.deepEqual([client.getProtocolEra(), client.getNegotiatedProtocolVersion()], ['modern', MODERN_VERSION]);
        assert.equal(client.getServerVersion()?.name, 'gatehouse');
        assert.equal(client.getServerCapabilities()?.tools?.listChanged, true);
      }));

    it('picks 2026-07-28 itself when negotiating, and a 2025 session when left at its default', async () => {
      await using(modernClient({ negotiation: { mode: 'auto' } }), async (client) => {
        assert.deepEqual([client.getProtocolEra(), client.getNegotiatedProtocolVersion()], ['modern', MODERN_VERSION]);
      });
      await using(modernClient({ negotiation: { mode: 'legacy' } }), async (client) => {
        assert.equal(client.getProtocolEra(), 'legacy');
        assert.equal(textOf(await client.callTool({ name: 'two_echo', arguments: { text: 'in a session' } })), 'in a session');
      });
    });

    it('lists the tools of both eras’ upstreams under Gatehouse’s names, with the aggregated cache hint', () =>
      using(modernClient(), async (client) => {
        const listed = await client.listTools(undefined, { cacheMode: 'bypass' });
        assert.deepEqual(listed.tools.map((tool) => tool.name).filter((name) => name.startsWith('two_')).sort(), ['two_deploy', 'two_echo', 'two_locate', 'two_wait']);
        assert.ok(listed.tools.some((tool) => tool.name === 'old_test_sampling'));
        // The 2025 upstream's list carries no hint, so the merged list is immediately stale and private.
        assert.deepEqual(hintOf(listed), [0, 'private']);
      }));

    it('calls a tool of the 2.x upstream, over HTTP and over stdio, and one of the 2025 upstream', () =>
      using(modernClient(), async (client) => {
        assert.equal(textOf(await client.callTool({ name: 'two_echo', arguments: { text: 'to sdk2' } })), 'to sdk2');
        assert.equal(textOf(await client.callTool({ name: 'local_echo', arguments: { text: 'to sdk2 on stdio' } })), 'to sdk2 on stdio');
        assert.equal(textOf(await client.callTool({ name: 'old_test_simple_text', arguments: {} })), 'This is a simple text response for testing.');
      }));

    it('calls a tool with an x-mcp-header parameter and an output schema, the header carried on to the upstream', () =>
      using(modernClient(), async (client) => {
        await client.listTools();
        const before = two.requests.length;
        const result = await client.callTool({ name: 'two_locate', arguments: { region: 'eu-west' } });
        assert.deepEqual(result.structuredContent, { region: 'eu-west' });
        const sent = two.requests.slice(before).find((headers) => headers['mcp-method'] === 'tools/call')!;
        assert.deepEqual([sent['mcp-name'], sent['mcp-param-region']], ['locate', 'eu-west']);
      }));

    it('answers the 2.x upstream’s input_required elicitation through its own multi-round-trip support', async () => {
      await using(modernClient({ confirm: true }), async (client) => {
        assert.equal(textOf(await client.callTool({ name: 'two_deploy', arguments: { env: 'prod' } })), 'deployed to prod');
        assert.equal(textOf(await client.callTool({ name: 'local_deploy', arguments: { env: 'dev' } })), 'deployed to dev');
      });
      await using(modernClient({ confirm: false }), async (client) => {
        assert.equal(textOf(await client.callTool({ name: 'two_deploy', arguments: { env: 'prod' } })), 'not deployed');
      });
    });

    it('answers the input_required elicitation of the 2.x upstream’s prompt', () =>
      using(modernClient(), async (client) => {
        const { prompts } = await client.listPrompts();
        assert.ok(prompts.some((prompt) => prompt.name === 'two_greeting'));
        const result = await client.getPrompt({ name: 'two_greeting', arguments: { tone: 'warmly' } });
        assert.deepEqual(result.messages.map((message) => message.content), [{ type: 'text', text: 'Greet Ann, warmly.' }]);
      }));

    it('gets the 2025 upstream’s progress before the result', () =>
      using(modernClient(), async (client) => {
        const progress: number[] = [];
        const result = await client.callTool({ name: 'old_test_tool_with_progress', arguments: {} }, { onprogress: ({ progress: at }) => void progress.push(at) });
        assert.equal(textOf(result), 'Tool with progress executed');
        assert.deepEqual(progress, [0, 50, 100]);
      }));

    it('cancels its call at the 2.x upstream by aborting it', () => using(modernClient(), (client) => cancelsWait('abort-2026', (params, signal) => client.callTool(params, { signal }))));

    it('answers the 2025 upstream’s sampling request, parked by Gatehouse, through its own multi-round-trip support', () =>
      using(modernClient(), async (client) => {
        const result = await client.callTool({ name: 'old_test_sampling', arguments: { prompt: 'Capital of France?' } });
        assert.equal(textOf(result), 'LLM response: Paris');
      }));

    it('serves a second read of the 2.x upstream’s resource from its cache, by the hint Gatehouse carried on', () =>
      using(modernClient(), async (client) => {
        const reads = () => two.requests.filter((headers) => headers['mcp-method'] === 'resources/read').length;
        const readsBefore = reads();
        const first = await client.readResource({ uri: SDK2_NOTE_URI });
        assert.deepEqual(hintOf(first), [SDK2_NOTE_TTL_MS, 'public']);
        const upstreamReads = reads();
        assert.equal(upstreamReads, readsBefore + 1);
        const second = await client.readResource({ uri: SDK2_NOTE_URI });
        assert.deepEqual(second.contents, first.contents);
        assert.equal(reads(), upstreamReads);
      }));

    it('hears a list change of the 2.x upstream on its subscriptions/listen stream', async () => {
      let changes = 0;
      await using(modernClient({ onToolsChanged: () => void changes++ }), async (client) => {
        const subscription = await client.listen({ toolsListChanged: true });
        assert.equal(subscription.honoredFilter.toolsListChanged, true);
        two.announceToolsChanged();
        await waitFor('the list change on the listen stream', () => (changes > 0 ? true : undefined));
        await subscription.close();
        assert.equal(await subscription.closed, 'local');
      });
    });

    it('hears an update of a 2.x upstream’s resource it subscribed to on its subscriptions/listen stream', async () => {
      const updated: string[] = [];
      await using(modernClient(), async (client) => {
        client.setNotificationHandler('notifications/resources/updated', (notification) => void updated.push(notification.params.uri));
        const subscription = await client.listen({ resourceSubscriptions: [SDK2_NOTE_URI] });
        assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [SDK2_NOTE_URI]);
        two.announceResourceUpdated(SDK2_NOTE_URI);
        await waitFor('the resource update on the listen stream', () => (updated.length > 0 ? true : undefined));
        assert.deepEqual(updated, [SDK2_NOTE_URI]);
        await subscription.close();
      });
    });
  });

  it('signs a 2.x client in with its own OAuth (discovery, registration, PKCE, RFC 9207 iss) and serves it in 2026-07-28', async () => {
    const provider = new HeadlessOAuthProvider({ username: 'admin', password: TEST_ADMIN_PASSWORD }, { clientName: 'sdk2 client' });
    const pinned = { versionNegotiation: { mode: { pin: MODERN_VERSION } } } as const;
    const first = new Sdk2Transport(url, { authProvider: provider });
    await assert.rejects(new Sdk2Client({ name: 'sdk2-client', version: '2.4.0' }, pinned).connect(first), UnauthorizedError);
    provider.code(); // checks the state
    await first.finishAuth(provider.authorizationResponse!.params);
    await using(new Sdk2Client({ name: 'sdk2-client', version: '2.4.0' }, pinned), async (client) => {
      await client.connect(new Sdk2Transport(url, { authProvider: provider }));
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(textOf(await client.callTool({ name: 'two_echo', arguments: { text: 'signed in' } })), 'signed in');
    });
  });

  describe('a 2.x client at a Gatehouse whose only upstream is the 2.x server', () => {
    let alone: Gatehouse;
    before(async () => {
      alone = await openGatehouse({ two: two.url });
    });
    after(() => alone?.close());

    it('keeps the tools list by the upstream’s hint until a list change arrives on its listen stream', async () => {
      const sent: string[] = [];
      await using(modernClient({ at: alone, sent, listChanged: true }), async (client) => {
        const listed = await client.listTools();
        assert.deepEqual(hintOf(listed), [SDK2_TOOLS_TTL_MS, 'public']);
        await client.listTools();
        assert.equal(sent.filter((method) => method === 'tools/list').length, 1);
        two.announceToolsChanged();
        await waitFor('the list fetched again after the change', async () => {
          await client.listTools();
          return sent.filter((method) => method === 'tools/list').length > 1 ? true : undefined;
        });
      });
    });
  });

  describe('a 2025 SDK 1.x client reaching the 2.x upstream', () => {
    it('lists and calls its tools in a 2025 session', () =>
      using(legacyClient(), async (client) => {
        const { tools } = await client.listTools();
        assert.ok(tools.some((tool) => tool.name === 'two_echo'));
        assert.equal(textOf(await client.callTool({ name: 'two_echo', arguments: { text: 'from 2025' } })), 'from 2025');
      }));

    it('cancels its call at the 2.x upstream (notifications/cancelled becomes the closed upstream stream)', () =>
      using(legacyClient(), (client) => cancelsWait('abort-2025', (params, signal) => client.callTool(params, undefined, { signal }))));

    it('is asked the 2.x upstream’s input_required elicitation as a 2025 elicitation request', async () => {
      const asked: string[] = [];
      await using(legacyClient((message) => asked.push(message)), async (client) => {
        assert.equal(textOf(await client.callTool({ name: 'two_deploy', arguments: { env: 'staging' } })), 'deployed to staging');
      });
      assert.deepEqual(asked, ['Deploy to staging?']);
    });

    it('is asked the elicitation of the 2.x upstream’s prompt as a 2025 elicitation request', async () => {
      const asked: string[] = [];
      await using(legacyClient((message) => asked.push(message)), async (client) => {
        const result = await client.getPrompt({ name: 'two_greeting', arguments: { tone: 'briefly' } });
        assert.deepEqual(result.messages.map((message) => message.content), [{ type: 'text', text: 'Greet Ann, briefly.' }]);
      });
      assert.deepEqual(asked, ['Whom to greet?']);
    });
  });
});
