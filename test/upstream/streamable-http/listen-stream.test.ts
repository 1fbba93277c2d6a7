import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { directRequests, type DirectRequests } from '../../../src/upstream/streamable-http/direct-requests.js';
import { listChangesFilter, listenStream, type ListenStream } from '../../../src/upstream/streamable-http/listen-stream.js';
import { STATELESS_PROTOCOL_VERSION } from '../../../src/upstream/streamable-http/protocol-eras.js';
import { startStatelessUpstream, type StatelessUpstream } from '../../fixtures/upstreams/stateless-server.js';

/** The listen stream of a stateless connection, against the 2026-07-28 fixture over the real direct path. */

const methodsOf = (messages: JSONRPCMessage[]) => messages.map((message) => ('method' in message ? message.method : '?'));

/** Resolves once `messages` holds `count` of them. */
async function received(messages: JSONRPCMessage[], count: number): Promise<void> {
  while (messages.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('the subscriptions/listen filter', () => {
  it('asks for the list changes the upstream announced, and for none when it announced none', () => {
    assert.deepEqual(listChangesFilter({ tools: { listChanged: true }, prompts: {}, resources: { listChanged: true, subscribe: true } }), { toolsListChanged: true, resourcesListChanged: true });
    assert.deepEqual(listChangesFilter({ tools: {} }), {});
  });
});

describe('the listen stream of a stateless upstream', { timeout: 30_000 }, () => {
  let upstream: StatelessUpstream;
  let direct: DirectRequests;
  let listen: ListenStream | undefined;
  const delivered: JSONRPCMessage[] = [];
  const signal = () => AbortSignal.timeout(5000);
  const listens = () => upstream.requests.filter((request) => request.body.method === 'subscriptions/listen');

  before(async () => {
    upstream = await startStatelessUpstream();
    direct = directRequests({ url: new URL(upstream.url), headers: {}, transport: new StreamableHTTPClientTransport(new URL(upstream.url)) });
    direct.speakStateless({ protocolVersion: STATELESS_PROTOCOL_VERSION, clientInfo: { name: 'gatehouse', version: 'test' } });
  });
  after(async () => {
    listen?.close();
    direct.close();
    await upstream.close();
  });

  it('opens nothing while there is nothing to ask for, and one stream once a resource is subscribed to', async () => {
    listen = listenStream(direct, {}, (message) => delivered.push(message));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(listens().length, 0);
    await listen.subscribe('note://first', signal());
    assert.deepEqual(upstream.openListens().map((stream) => stream.filter), [{ resourceSubscriptions: ['note://first'] }]);
    listen.close();
    while (upstream.openListens().length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('asks for the list changes at once, adds each subscribed resource, and delivers what comes (not the acknowledgement)', async () => {
    delivered.length = 0;
    listen = listenStream(direct, { toolsListChanged: true }, (message) => delivered.push(message));
    await upstream.listening((stream) => stream.filter.toolsListChanged === true);
    await listen.subscribe('note://first', signal());
    await listen.subscribe('note://second', signal());
    // Make before break: the stream for the new filter was acknowledged before the old one closed.
    while (upstream.openListens().length > 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(upstream.openListens().map((stream) => stream.filter), [{ toolsListChanged: true, resourceSubscriptions: ['note://first', 'note://second'] }]);
    const open = upstream.openListens()[0]!;
    assert.equal((listens().find((request) => request.body.id === open.id)!.body.params!._meta as Record<string, unknown>)['io.modelcontextprotocol/protocolVersion'], STATELESS_PROTOCOL_VERSION);
    upstream.announceToolsChanged();
    upstream.announceResourceUpdated('note://second');
    upstream.announceResourceUpdated('note://elsewhere');
    await received(delivered, 2);
    assert.deepEqual(methodsOf(delivered), ['notifications/tools/list_changed', 'notifications/resources/updated']);
    assert.equal((delivered[1] as unknown as { params: { uri: string } }).params.uri, 'note://second');
  });

  it('refuses a resource the upstream does not acknowledge, and takes it out of the filter again', async () => {
    await assert.rejects(listen!.subscribe('secret://other', signal()), /sends no updates of secret:\/\/other/);
    const asked = () => (listens().at(-1)!.body.params!.notifications as { resourceSubscriptions: string[] }).resourceSubscriptions;
    while (asked().includes('secret://other')) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(asked(), ['note://first', 'note://second']);
  });

  it('opens one stream for subscriptions made together', async () => {
    const before = listens().length;
    await Promise.all(['note://a', 'note://b', 'note://c'].map((uri) => listen!.subscribe(uri, signal())));
    assert.equal(listens().length - before, 1);
    assert.deepEqual((listens().at(-1)!.body.params!.notifications as { resourceSubscriptions: string[] }).resourceSubscriptions, ['note://first', 'note://second', 'note://a', 'note://b', 'note://c']);
    await Promise.all(['note://a', 'note://b', 'note://c'].map((uri) => listen!.unsubscribe(uri, signal())));
  });

  it('takes an unsubscribed resource out of the filter', async () => {
    await listen!.unsubscribe('note://first', signal());
    while (upstream.openListens().length > 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(upstream.openListens().map((stream) => stream.filter), [{ toolsListChanged: true, resourceSubscriptions: ['note://second'] }]);
  });

  it('opens the stream again, with the same filter, after the upstream ends it', async () => {
    const before = upstream.openListens()[0]!;
    upstream.endListens();
    await upstream.listening((stream) => stream.id !== before.id);
    assert.deepEqual(upstream.openListens().map((stream) => stream.filter), [before.filter]);
  });

  it('closes its stream for good when closed', async () => {
    listen!.close();
    while (upstream.openListens().length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const count = listens().length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(listens().length, count);
  });

  it('keeps trying, quietly, while the upstream is gone, and listens again once it is back', async () => {
    const gone = await startStatelessUpstream();
    const port = new URL(gone.url).port;
    const path = directRequests({ url: new URL(gone.url), headers: {}, transport: new StreamableHTTPClientTransport(new URL(gone.url)) });
    path.speakStateless({ protocolVersion: STATELESS_PROTOCOL_VERSION, clientInfo: { name: 'gatehouse', version: 'test' } });
    const stream = listenStream(path, { toolsListChanged: true }, () => undefined);
    try {
      await gone.listening();
      await gone.close();
      // The reopening fails (nothing listens on the port) at least once: the retry is scheduled again, nothing throws.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const back = await startStatelessUpstream({ port: Number(port) });
      try {
        await back.listening();
        assert.deepEqual(back.openListens().map((open) => open.filter), [{ toolsListChanged: true }]);
      } finally {
        stream.close();
        await back.close();
      }
    } finally {
      stream.close();
      path.close();
    }
  });
});
