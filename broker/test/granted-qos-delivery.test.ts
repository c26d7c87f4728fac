/** The delivery rules of granted-qos-delivery.ts and message-expiry.ts, without a broker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { DeliveredPacket, SubscriptionEntry } from '../src/aedes-internals.js';
import { grantedQoSDelivery } from '../src/granted-qos-delivery.js';
import { ageFrame } from '../src/message-expiry.js';
import { withoutWillDelay } from '../src/will-properties.js';

function delivery(filters: Record<string, SubscriptionEntry>) {
  const sent: Array<{ via: 'qos0' | 'qos'; packet: DeliveredPacket }> = [];
  const override = grantedQoSDelivery(filters, {
    atQoS0: (packet, done) => {
      sent.push({ via: 'qos0', packet });
      done();
    },
    atQoS: (packet, done) => {
      sent.push({ via: 'qos', packet });
      done();
    },
  });
  const deliver = (packet: DeliveredPacket): void => override.deliver(packet, () => {});
  return { sent, override, deliver };
}

describe('granted QoS delivery', () => {
  it('delivers at the lower of the published QoS and the highest granted among matching filters', () => {
    const { sent, deliver } = delivery({ 'a/#': { qos: 0 }, 'a/b': { qos: 1 }, '+/b': { qos: 2 } });
    deliver({ topic: 'a/b', qos: 1 });
    deliver({ topic: 'a/c', qos: 2 });
    // Aedes's atQoS0 sends at QoS 0 whatever the packet says.
    assert.deepEqual(
      sent.map((s) => [s.via, s.via === 'qos0' ? 0 : s.packet.qos]),
      [
        ['qos', 1],
        ['qos0', 0],
      ],
    );
  });

  it('leaves a message no filter matches to Aedes, and sees filters change', () => {
    const filters: Record<string, SubscriptionEntry> = {};
    const { sent, override, deliver } = delivery(filters);
    deliver({ topic: 'x', qos: 1 });
    filters.x = { qos: 0 };
    override.filtersChanged();
    deliver({ topic: 'x', qos: 1 });
    assert.deepEqual(
      sent.map((s) => s.via),
      ['qos', 'qos0'],
    );
  });

  it('carries the Subscription Identifiers of every matching filter on routed messages', () => {
    const { sent, deliver } = delivery({ 'a/#': { qos: 1, si: 3 }, 'a/b': { qos: 1, si: 7 } });
    deliver({ topic: 'a/b', qos: 1, brokerId: 'b' });
    assert.deepEqual(sent[0]!.packet.properties, { subscriptionIdentifier: [3, 7] });
  });

  it('shows Aedes the highest granted QoS for an entry, so its cap never lowers it', () => {
    const { override } = delivery({ 'a/#': { qos: 2 }, 'a/b': { qos: 0 } });
    assert.deepEqual(override.entryAsRead('a/b', { qos: 0 }), { qos: 2 });
  });
});

describe('message expiry of held frames', () => {
  const frame = (expiry: number): Buffer =>
    mqttPacket.generate(
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.from('p'),
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
        properties: { messageExpiryInterval: expiry },
      },
      { protocolVersion: 5 },
    );
  const expiryOf = (bytes: Buffer): number | undefined => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    let value: number | undefined;
    parser.on('packet', (packet) => (value = packet.cmd === 'publish' ? packet.properties?.messageExpiryInterval : undefined));
    parser.parse(bytes);
    return value;
  };

  it('lowers the interval by the whole seconds waited, and drops a frame whose interval ran out', () => {
    assert.equal(expiryOf(ageFrame(frame(10), 2500)!), 8);
    const unchanged = frame(10);
    assert.equal(ageFrame(unchanged, 999), unchanged, 'under a second: the frame itself');
    assert.equal(ageFrame(frame(2), 2000), undefined);
  });
});

describe('will properties', () => {
  it('drops the Will Delay Interval from a will PUBLISH and leaves the rest', () => {
    const will = { cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false } as const;
    const out = withoutWillDelay({ ...will, properties: { willDelayInterval: 5, contentType: 'x' } } as never);
    assert.deepEqual((out as { properties?: unknown }).properties, { contentType: 'x' });
  });
});
