import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationHandler, Notifications } from '../../src/store/index.js';
import { announcingRegistry, followFleetChanges } from '../../src/upstream/fleet-changes.js';
import type { OutboundEvent } from '../../src/upstream/oauth/outbound-oauth.js';
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
    close: async () => undefined,
  });
  return [processOn(1), processOn(2)];
}

const unexpected = (error: unknown) => assert.fail(String(error));

function fakeRegistry() {
  const refreshed: string[] = [];
  const registry: RegistryControl = {
    refresh: async (id) => void refreshed.push(id),
    reconnect: async () => undefined,
    statusOf: () => undefined,
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

describe('upstream changes across replicas', () => {
  it('an upstream changed through one replica is re-read by the other, not again by the one that changed it', async () => {
    const [a, b] = twoProcesses();
    const atA = fakeRegistry();
    const atB = fakeRegistry();
    followFleetChanges(a, atA.registry, fakeOutbound(), unexpected);
    followFleetChanges(b, atB.registry, fakeOutbound(), unexpected);
    await announcingRegistry(atA.registry, a).refresh('ups_1');
    assert.deepEqual(atA.refreshed, ['ups_1'], 'applied once, by the API call itself');
    assert.deepEqual(atB.refreshed, ['ups_1']);
  });

  it("a connection authorized on one replica is followed by the other; the other's following is not announced back", () => {
    const [a, b] = twoProcesses();
    const outboundA = fakeOutbound();
    const outboundB = fakeOutbound();
    followFleetChanges(a, fakeRegistry().registry, outboundA, unexpected);
    followFleetChanges(b, fakeRegistry().registry, outboundB, unexpected);
    outboundA.emit({ kind: 'authorized', upstreamId: 'ups_1', subject: 'usr_a' });
    assert.deepEqual(outboundB.followed, ['ups_1/usr_a']);
    assert.deepEqual(outboundA.followed, []);
    outboundB.emit({ kind: 'authorized', upstreamId: 'ups_1', subject: 'usr_a', elsewhere: true });
    assert.deepEqual(outboundA.followed, [], 'no echo');
  });

  it('ignores malformed messages', async () => {
    const [a, b] = twoProcesses();
    const atB = fakeRegistry();
    const outboundB = fakeOutbound();
    followFleetChanges(b, atB.registry, outboundB, unexpected);
    await a.publish('upstreams', { id: 42 });
    await a.publish('upstream_authorizations', 'nonsense');
    assert.deepEqual(atB.refreshed, []);
    assert.deepEqual(outboundB.followed, []);
  });

  it('stops following when asked', async () => {
    const [a, b] = twoProcesses();
    const atB = fakeRegistry();
    followFleetChanges(b, atB.registry, fakeOutbound(), unexpected)();
    await a.publish('upstreams', { id: 'ups_1' });
    assert.deepEqual(atB.refreshed, []);
  });
});
