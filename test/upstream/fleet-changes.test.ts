import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationHandler, Notifications } from '../../src/store/index.js';
import { announcingRegistry, followFleetChanges } from '../../src/upstream/fleet-changes.js';
import type { OutboundEvent } from '../../src/upstream/oauth/outbound-oauth.js';
import type { ToolPinEvent } from '../../src/upstream/tool-pins.js';
import type { Upstream } from '../../src/upstream/types.js';
import type { RegistryControl } from '../../src/upstream/upstream-service.js';

/** Two processes on one message bus, as PostgreSQL's LISTEN/NOTIFY connects them; delivery is synchronous here. */
function twoProcesses(): [Notifications, Notifications] {
  const handlers: Array<{ process: number; channel: string; handler: NotificationHandler }> = [];
  const processOn = (process: number): Notifications => ({
    async publish(channel, payload) {
      for (const entry of handlers) if (entry.channel === channel) entry.handler(payload, { fromThisProcess: entry.process === process });
    },
    subscribe(channel, handler) {
      const entry = { process, channel, handler };
      handlers.push(entry);
      return () => void handlers.splice(handlers.indexOf(entry), 1);
    },
    ready: async () => undefined,
    hearsOtherProcesses: () => true,
    onHearingChange: () => () => undefined,
    close: async () => undefined,
  });
  return [processOn(1), processOn(2)];
}

const unexpected = (error: unknown) => assert.fail(String(error));

function fakeRegistry() {
  const refreshed: string[] = [];
  const registry: RegistryControl & { get(id: string): Upstream | undefined } = {
    refresh: async (id) => void refreshed.push(id),
    reconnect: async () => undefined,
    statusOf: () => undefined,
    get: (id) => (id === 'ups_1' ? ({ id } as Upstream) : undefined),
  };
  return { registry, refreshed };
}

function fakeOutbound() {
  const listeners = new Set<(event: OutboundEvent) => void>();
  const followed: string[] = [];
  return {
    followed,
    emit: (event: OutboundEvent) => listeners.forEach((listener) => listener(event)),
    subscribe(listener: (event: OutboundEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    authorizedElsewhere: (upstreamId: string, subject: string) => void followed.push(`${upstreamId}/${subject}`),
  };
}

function fakePins() {
  const listeners = new Set<(event: ToolPinEvent) => void>();
  const followed: string[] = [];
  return {
    followed,
    emit: (event: ToolPinEvent) => listeners.forEach((listener) => listener(event)),
    subscribe(listener: (event: ToolPinEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    approvedElsewhere: async (upstream: Upstream, tool: string) => void followed.push(`${upstream.id}/${tool}`),
  };
}

describe('upstream changes across replicas', () => {
  it('an upstream changed through one replica is re-read by the other, not again by the one that changed it', async () => {
    const [a, b] = twoProcesses();
    const atA = fakeRegistry();
    const atB = fakeRegistry();
    followFleetChanges(a, { registry: atA.registry, outbound: fakeOutbound(), toolPins: fakePins() }, unexpected);
    followFleetChanges(b, { registry: atB.registry, outbound: fakeOutbound(), toolPins: fakePins() }, unexpected);
    await announcingRegistry(atA.registry, a).refresh('ups_1');
    assert.deepEqual(atA.refreshed, ['ups_1'], 'applied once, by the API call itself');
    assert.deepEqual(atB.refreshed, ['ups_1']);
  });

  it("a connection authorized on one replica is followed by the other; the other's following is not announced back", () => {
    const [a, b] = twoProcesses();
    const outboundA = fakeOutbound();
    const outboundB = fakeOutbound();
    followFleetChanges(a, { registry: fakeRegistry().registry, outbound: outboundA, toolPins: fakePins() }, unexpected);
    followFleetChanges(b, { registry: fakeRegistry().registry, outbound: outboundB, toolPins: fakePins() }, unexpected);
    outboundA.emit({ kind: 'authorized', upstreamId: 'ups_1', subject: 'usr_a' });
    assert.deepEqual(outboundB.followed, ['ups_1/usr_a']);
    assert.deepEqual(outboundA.followed, []);
    outboundB.emit({ kind: 'authorized', upstreamId: 'ups_1', subject: 'usr_a', elsewhere: true });
    assert.deepEqual(outboundA.followed, [], 'no echo');
  });

  it('a tool approved through one replica is followed by the other (pins read again), and not announced back', () => {
    const [a, b] = twoProcesses();
    const pinsA = fakePins();
    const pinsB = fakePins();
    followFleetChanges(a, { registry: fakeRegistry().registry, outbound: fakeOutbound(), toolPins: pinsA }, unexpected);
    followFleetChanges(b, { registry: fakeRegistry().registry, outbound: fakeOutbound(), toolPins: pinsB }, unexpected);
    pinsA.emit({ kind: 'approved', upstream: { id: 'ups_1' } as Upstream, tool: 'echo' });
    assert.deepEqual(pinsB.followed, ['ups_1/echo']);
    pinsB.emit({ kind: 'approved', upstream: { id: 'ups_1' } as Upstream, tool: 'echo', elsewhere: true });
    assert.deepEqual(pinsA.followed, [], 'no echo');
  });

  it('ignores malformed messages', async () => {
    const [a, b] = twoProcesses();
    const atB = fakeRegistry();
    const outboundB = fakeOutbound();
    followFleetChanges(b, { registry: atB.registry, outbound: outboundB, toolPins: fakePins() }, unexpected);
    await a.publish('upstreams', { id: 42 });
    await a.publish('upstream_authorizations', 'nonsense');
    assert.deepEqual(atB.refreshed, []);
    assert.deepEqual(outboundB.followed, []);
  });

  it('stops following when asked', async () => {
    const [a, b] = twoProcesses();
    const atB = fakeRegistry();
    followFleetChanges(b, { registry: atB.registry, outbound: fakeOutbound(), toolPins: fakePins() }, unexpected)();
    await a.publish('upstreams', { id: 'ups_1' });
    assert.deepEqual(atB.refreshed, []);
  });
});
