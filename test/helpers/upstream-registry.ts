import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Upstream, UpstreamEvent, UpstreamRegistry, UpstreamSettings, UpstreamStatus } from '../../src/upstream/types.js';
import { UpstreamClient } from '../../src/upstream/upstream-client.js';

/**
 * A small but real upstream registry for tests: each upstream is an SDK server (McpServer or low-level
 * Server) connected to its own SDK Client over an in-memory linked pair. List changes and log messages the
 * upstream sends arrive at the Client and are relayed as registry events, as the real registry does.
 */

export interface TestUpstream extends Upstream {
  /** Marks the upstream down (state `error`) without closing anything; `markUp` reverts. */
  markDown(reason: string): void;
  markUp(): void;
}

export interface TestRegistry extends UpstreamRegistry {
  add(options: { id?: string; name: string; server: McpServer | Server; settings?: Partial<UpstreamSettings> }): Promise<TestUpstream>;
  remove(id: string): Promise<void>;
}

export function testUpstreamRegistry(): TestRegistry {
  const upstreams = new Map<string, TestUpstream>();
  const clients = new Map<string, { client: UpstreamClient; server: McpServer | Server }>();
  const listeners = new Set<(event: UpstreamEvent) => void>();
  const emit = (event: UpstreamEvent) => {
    for (const listener of listeners) listener(event);
  };

  return {
    async add({ id = `up_${upstreams.size + 1}_${Math.random().toString(36).slice(2, 8)}`, name, server, settings = {} }) {
      const client = new UpstreamClient('1.0.0', { streamableHttp: false });
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => emit({ kind: 'tools_changed', upstreamId: id }));
      client.setNotificationHandler(ResourceListChangedNotificationSchema, () => emit({ kind: 'resources_changed', upstreamId: id }));
      client.setNotificationHandler(PromptListChangedNotificationSchema, () => emit({ kind: 'prompts_changed', upstreamId: id }));
      client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) =>
        emit({ kind: 'log', upstreamId: id, params: notification.params }),
      );
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => emit({ kind: 'resource_updated', upstreamId: id, uri: notification.params.uri }));
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      await client.connect(clientSide);
      clients.set(id, { client, server });
      let status: UpstreamStatus = { state: 'connected', since: Date.now() };
      const upstream: TestUpstream = {
        id,
        settings: { name, connection_type: 'in_process', auth_type: 'none', timeout_ms: 5_000, ...settings },
        status: () => status,
        client: () => (status.state === 'connected' ? client : undefined),
        markDown(reason) {
          status = { state: 'error', reason, retryAt: null };
        },
        markUp() {
          status = { state: 'connected', since: Date.now() };
        },
      };
      upstreams.set(id, upstream);
      emit({ kind: 'upstreams_changed' });
      return upstream;
    },
    async remove(id) {
      const connection = clients.get(id);
      upstreams.delete(id);
      clients.delete(id);
      await connection?.client.close();
      emit({ kind: 'upstreams_changed' });
    },
    all: () => [...upstreams.values()],
    get: (id) => upstreams.get(id),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {},
    async close() {
      await Promise.all([...clients.values()].map(({ client }) => client.close()));
      clients.clear();
      upstreams.clear();
    },
  };
}
