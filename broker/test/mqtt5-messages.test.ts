/**
 * MQTT 5 message delivery of the bundled broker (conformance configuration): retained messages,
 * subscription options and identifiers, overlapping filters, topic aliases from the client, and
 * the client's Maximum Packet Size. Raw clients where the exact packet matters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IPublishPacket } from 'mqtt-packet';
import { conformanceSuite, RawClients, unique } from './mqtt5-helpers.js';

const publish = (topic: string, payload: string, fields: Partial<IPublishPacket> = {}): IPublishPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 0,
  retain: false,
  dup: false,
  ...fields,
});

/** mqtt-packet gives one Subscription Identifier as a number, several as an array. */
const identifiers = (packet: IPublishPacket): number[] => [packet.properties?.subscriptionIdentifier ?? []].flat();

describe('MQTT 5 messages (conformance configuration)', { timeout: 60_000 }, () => {
  const suite = conformanceSuite();
  const raws = new RawClients();
  const connected = async (version: 4 | 5 = 5, fields = {}) => await raws.connected(suite.broker.ports.mqtt, version, fields);
  const subscribed = async (
    subscriptions: Array<{ topic: string; qos: 0 | 1 | 2; nl?: boolean; rap?: boolean; rh?: number }>,
    properties?: { subscriptionIdentifier: number },
    version: 4 | 5 = 5,
  ) => {
    const raw = await connected(version);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions, ...(properties ? { properties } : {}) });
    await raw.next('suback');
    return raw;
  };

  before(() => suite.start());
  after(async () => {
    raws.destroyAll();
    await suite.stop();
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] a retained message goes to new subscribers until an empty one removes it', async () => {
    const topic = unique('retained');
    const publisher = await connected();
    publisher.send(publish(topic, 'kept', { retain: true, qos: 1, messageId: 1 }));
    await publisher.next('puback');
    const first = await subscribed([{ topic, qos: 1 }]);
    const kept = await first.next('publish');
    assert.equal(kept.payload.toString(), 'kept');
    assert.equal(kept.retain, true);
    publisher.send(publish(topic, '', { retain: true, qos: 1, messageId: 2 }));
    await publisher.next('puback');
    const second = await subscribed([{ topic, qos: 1 }]);
    publisher.send(publish(topic, 'live'));
    assert.equal((await second.next('publish')).payload.toString(), 'live');
  });

  it('[MQTT-3.8.3-3] No Local: a client does not get back what it published itself', async () => {
    const topic = unique('nolocal');
    const self = await subscribed([{ topic, qos: 0, nl: true }]);
    self.send(publish(topic, 'own', { qos: 1, messageId: 1 }));
    await self.next('puback');
    const other = await connected();
    other.send(publish(topic, 'other'));
    assert.equal((await self.next('publish')).payload.toString(), 'other');
    assert.equal(self.inbox.items.filter((p) => p.cmd === 'publish').length, 1);
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published: 0 clears RETAIN on live messages, 1 keeps it', async () => {
    const topic = unique('rap');
    const cleared = await subscribed([{ topic, qos: 0, rap: false }]);
    const kept = await subscribed([{ topic, qos: 0, rap: true }]);
    const publisher = await connected();
    publisher.send(publish(topic, 'x', { retain: true }));
    assert.equal((await cleared.next('publish')).retain, false);
    assert.equal((await kept.next('publish')).retain, true);
  });

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0 sends retained messages, 1 only for a new subscription, 2 never', async () => {
    const topic = unique('rh');
    const publisher = await connected();
    publisher.send(publish(topic, 'retained', { retain: true, qos: 1, messageId: 1 }));
    await publisher.next('puback');
    const firstOf = async (raw: Awaited<ReturnType<typeof connected>>) => {
      // A live marker after the SUBACK: whatever arrives first tells whether a retained one was sent.
      publisher.send(publish(topic, 'marker'));
      return (await raw.next('publish')).payload.toString();
    };
    assert.equal(await firstOf(await subscribed([{ topic, qos: 0, rh: 0 }])), 'retained');
    assert.equal(await firstOf(await subscribed([{ topic, qos: 0, rh: 2 }])), 'marker');
    const rh1 = await subscribed([{ topic, qos: 0, rh: 1 }]);
    assert.equal(await firstOf(rh1), 'retained');
    await rh1.next('publish'); // the marker
    rh1.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic, qos: 0, rh: 1 }] });
    await rh1.next('suback');
    assert.equal(await firstOf(rh1), 'marker');
  });

  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] one copy for overlapping filters carries the Subscription Identifiers of all of them', async () => {
    const base = unique('si');
    const raw = await connected();
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: `${base}/+`, qos: 1 }],
      properties: { subscriptionIdentifier: 1 },
    });
    raw.send({
      cmd: 'subscribe',
      messageId: 2,
      subscriptions: [{ topic: `${base}/x`, qos: 0 }],
      properties: { subscriptionIdentifier: 2 },
    });
    raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `${base}/#`, qos: 0 }] });
    for (let i = 0; i < 3; i++) await raw.next('suback');
    const publisher = await connected();
    publisher.send(publish(`${base}/x`, 'both', { qos: 1, messageId: 1 }));
    publisher.send(publish(`${base}/y`, 'one'));
    const both = await raw.next('publish', (p) => p.payload.toString() === 'both');
    assert.deepEqual(identifiers(both).sort(), [1, 2]);
    assert.equal(both.qos, 1);
    const one = await raw.next('publish', (p) => p.payload.toString() === 'one');
    assert.deepEqual(identifiers(one), [1]);
    assert.equal(raw.inbox.items.filter((p) => p.cmd === 'publish').length, 2);
  });

  it('[MQTT-3.3.4-2] overlapping filters deliver one copy at the highest QoS granted among them (5 and 3.1.1)', async () => {
    for (const version of [5, 4] as const) {
      const base = unique('overlap');
      const raw = await subscribed(
        [
          { topic: `${base}/#`, qos: 0 },
          { topic: `${base}/x`, qos: 2 },
          { topic: `${base}/+`, qos: 1 },
        ],
        undefined,
        version,
      );
      const publisher = await connected(version);
      publisher.send(publish(`${base}/x`, 'a', { qos: 2, messageId: 1 }));
      publisher.send(publish(`${base}/x`, 'end'));
      await raw.next('publish', (p) => p.payload.toString() === 'end');
      const copies = raw.inbox.items.filter((p) => p.cmd === 'publish' && p.payload.toString() === 'a');
      assert.deepEqual(
        copies.map((p) => p.cmd === 'publish' && p.qos),
        [2],
        `protocol ${version}`,
      );
    }
  });

  it('[MQTT-3.3.2-12] topic aliases up to the advertised maximum are accepted and resolved; one over it gets DISCONNECT 0x94', async () => {
    const topic = unique('alias');
    const subscriber = await subscribed([{ topic, qos: 0 }]);
    const publisher = await connected();
    publisher.send(publish(topic, 'set', { properties: { topicAlias: 10 } }));
    publisher.send(publish('', 'used', { properties: { topicAlias: 10 } }));
    for (const payload of ['set', 'used']) {
      const message = await subscriber.next('publish');
      assert.equal(message.payload.toString(), payload);
      assert.equal(message.topic, topic);
      assert.equal(message.properties?.topicAlias, undefined);
    }
    publisher.send(publish(topic, 'over', { properties: { topicAlias: 11 } }));
    assert.equal((await publisher.next('disconnect')).reasonCode, 0x94);
    await publisher.closed;
  });

  it("[MQTT-3.1.2-24] [MQTT-3.1.2-25] a message larger than the client's Maximum Packet Size is not sent to it; later ones are", async () => {
    const topic = unique('max');
    const small = await connected(5, { properties: { maximumPacketSize: 200 } });
    small.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await small.next('suback');
    const publisher = await connected();
    publisher.send(publish(topic, 'x'.repeat(300), { qos: 1, messageId: 1 }));
    publisher.send(publish(topic, 'fits', { qos: 1, messageId: 2 }));
    assert.equal((await small.next('publish')).payload.toString(), 'fits');
    assert.equal(small.inbox.items.filter((p) => p.cmd === 'publish').length, 1);
  });
});
