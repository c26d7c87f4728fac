/**
 * MQTT 5 sessions and flow control of the bundled broker (conformance configuration): wills and
 * their delay, offline queues, message expiry, Receive Maximum, and QoS 2 state across sessions.
 * These pin the session fixes in mqtt-broker.ts and the flow control in flow-control.ts.
 * Where a test waits out an interval, the interval passing is what it checks.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { IPublishPacket } from 'mqtt-packet';
import { conformanceSuite, RawClients, unique, type RawClient } from './mqtt5-helpers.js';

const publish = (topic: string, payload: string, fields: Partial<IPublishPacket> = {}): IPublishPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 0,
  retain: false,
  dup: false,
  ...fields,
});
const payloads = (raw: RawClient): string[] => raw.inbox.items.flatMap((p) => (p.cmd === 'publish' ? [p.payload.toString()] : []));

describe('MQTT 5 sessions and flow control (conformance configuration)', { timeout: 60_000 }, () => {
  const suite = conformanceSuite();
  const raws = new RawClients();
  const connected = async (version: 4 | 5 = 5, fields = {}, autoAck = true) =>
    await raws.connected(suite.broker.ports.mqtt, version, fields, { autoAck });
  const subscriber = async (topic: string, fields = {}, autoAck = true) => {
    const raw = await connected(5, fields, autoAck);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await raw.next('suback');
    return raw;
  };

  before(() => suite.start());
  after(async () => {
    raws.destroyAll();
    await suite.stop();
  });

  it('[MQTT-3.1.2-8] [MQTT-3.14.4-3] the will goes out on a network failure and on DISCONNECT 0x04, not on DISCONNECT 0x00', async () => {
    const topic = unique('will');
    const watcher = await subscriber(topic);
    const will = (payload: string) => ({
      will: { topic, payload: Buffer.from(payload), qos: 0 as const, retain: false, properties: { userProperties: { why: payload } } },
    });
    (await connected(5, will('normal'))).send({ cmd: 'disconnect', reasonCode: 0 });
    (await connected(5, will('with-will'))).send({ cmd: 'disconnect', reasonCode: 4 });
    const dropped = await connected(5, will('dropped'));
    const withWill = await watcher.next('publish', (p) => p.payload.toString() === 'with-will');
    assert.deepEqual({ ...withWill.properties?.userProperties }, { why: 'with-will' });
    dropped.destroy();
    await watcher.next('publish', (p) => p.payload.toString() === 'dropped');
    assert.deepEqual(payloads(watcher).sort(), ['dropped', 'with-will']);
  });

  it('[MQTT-3.1.3-9] a delayed will waits for its delay, is dropped when the session reconnects first, and carries no Will Delay Interval', async () => {
    const topic = unique('will-delay');
    const watcher = await subscriber(topic);
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const will = (payload: string) => ({
      will: { topic, payload: Buffer.from(payload), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } },
    });
    const returningId = unique('returning');
    const returning = await connected(5, { clientId: returningId, ...session, ...will('returning') });
    returning.destroy();
    await returning.closed;
    await connected(5, { clientId: returningId, ...session });
    const gone = await connected(5, { ...session, ...will('gone') });
    const since = Date.now();
    gone.destroy();
    const published = await watcher.next('publish');
    assert.ok(Date.now() - since >= 900, `will after ${Date.now() - since} ms`);
    assert.equal(published.payload.toString(), 'gone');
    assert.equal('willDelayInterval' in (published.properties ?? {}), false);
    assert.deepEqual(payloads(watcher), ['gone']);
  });

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-5] messages for an offline session are queued and delivered on resume, also when the resume asks Session Expiry 0', async () => {
    for (const version of [5, 4] as const) {
      const topic = unique('offline');
      const clientId = unique('offline');
      const session = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
      const first = await connected(version, { clientId, ...session });
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      await first.next('suback');
      first.send({ cmd: 'disconnect' });
      await first.closed;
      const publisher = await connected(version);
      for (const [i, text] of ['one', 'two'].entries()) {
        publisher.send(publish(topic, text, { qos: 1, messageId: i + 1 }));
        await publisher.next('puback');
      }
      const resume = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 0 } } : { clean: false };
      const back = await raws.open(suite.broker.ports.mqtt, version);
      assert.equal((await back.connect({ clientId, ...resume })).sessionPresent, true, `protocol ${version}`);
      await back.next('publish', (p) => p.payload.toString() === 'two');
      assert.deepEqual(payloads(back), ['one', 'two'], `protocol ${version}`);
    }
  });

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] a queued message whose expiry passed is never delivered; one still valid carries the time it has left', async () => {
    const topic = unique('expiry');
    const clientId = unique('expiry');
    const session = { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connected(5, session);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await first.next('suback');
    first.send({ cmd: 'disconnect' });
    await first.closed;
    const publisher = await connected();
    publisher.send(publish(topic, 'short', { qos: 1, messageId: 1, properties: { messageExpiryInterval: 1 } }));
    publisher.send(publish(topic, 'long', { qos: 1, messageId: 2, properties: { messageExpiryInterval: 100 } }));
    await publisher.next('puback', (p) => p.messageId === 2);
    await delay(1100); // the short interval (and a whole second of the long one) must pass
    const back = await connected(5, session);
    const long = await back.next('publish', (p) => p.payload.toString() === 'long');
    const left = long.properties?.messageExpiryInterval ?? 0;
    assert.ok(left < 100 && left >= 95, `${left} s left`);
    publisher.send(publish(topic, 'marker', { qos: 1, messageId: 3 }));
    await back.next('publish', (p) => p.payload.toString() === 'marker');
    assert.deepEqual(payloads(back), ['long', 'marker']);
  });

  it("[MQTT-3.3.4-9] no more than the client's Receive Maximum QoS 1 messages are unacknowledged; QoS 0 is not held back", async () => {
    const topic = unique('receive-max');
    const reader = await subscriber(topic, { properties: { receiveMaximum: 2 } }, false);
    const publisher = await connected();
    for (let i = 1; i <= 5; i++) publisher.send(publish(topic, `q${i}`, { qos: 1, messageId: i }));
    // Aedes acknowledges a publish once it has written it to every subscriber: after these all five
    // are written, and the QoS 0 marker can only arrive after those the window let through.
    for (let i = 1; i <= 5; i++) await publisher.next('puback');
    publisher.send(publish(topic, 'qos0'));
    await reader.next('publish', (p) => p.payload.toString() === 'qos0');
    assert.deepEqual(
      payloads(reader).filter((p) => p !== 'qos0'),
      ['q1', 'q2'],
    );
    const q1 = reader.inbox.items.find((p): p is IPublishPacket => p.cmd === 'publish' && p.payload.toString() === 'q1')!;
    reader.send({ cmd: 'puback', messageId: q1.messageId });
    await reader.next('publish', (p) => p.payload.toString() === 'q3');
    assert.equal(payloads(reader).filter((p) => p.startsWith('q') && p !== 'qos0').length, 3);
    for (const p of reader.inbox.items) if (p.cmd === 'publish' && p.qos === 1) reader.send({ cmd: 'puback', messageId: p.messageId });
    await reader.next('publish', (p) => p.payload.toString() === 'q5');
    assert.deepEqual(
      payloads(reader).filter((p) => p !== 'qos0'),
      ['q1', 'q2', 'q3', 'q4', 'q5'],
    );
  });

  it('[MQTT-3.3.2-5] a message held for the Receive Maximum longer than its expiry is never delivered', async () => {
    const topic = unique('held-expiry');
    const reader = await subscriber(topic, { properties: { receiveMaximum: 1 } }, false);
    const publisher = await connected();
    publisher.send(publish(topic, 'first', { qos: 1, messageId: 1 }));
    publisher.send(publish(topic, 'expires', { qos: 1, messageId: 2, properties: { messageExpiryInterval: 1 } }));
    publisher.send(publish(topic, 'stays', { qos: 1, messageId: 3, properties: { messageExpiryInterval: 100 } }));
    for (let i = 1; i <= 3; i++) await publisher.next('puback');
    publisher.send(publish(topic, 'qos0'));
    const first = await reader.next('publish', (p) => p.payload.toString() === 'first');
    await reader.next('publish', (p) => p.payload.toString() === 'qos0');
    await delay(1100); // the held message's interval must pass while it waits
    reader.send({ cmd: 'puback', messageId: first.messageId });
    const stays = await reader.next('publish', (p) => p.payload.toString() === 'stays');
    assert.ok((stays.properties?.messageExpiryInterval ?? 100) < 100);
    assert.deepEqual(payloads(reader), ['first', 'qos0', 'stays']);
  });

  it('[MQTT-3.1.2-4] a clean start also ends the unreleased inbound QoS 2 state: a reused packet id is a new message (5 and 3.1.1)', async () => {
    for (const version of [5, 4] as const) {
      const topic = unique('qos2');
      const watcher = await subscriber(topic);
      const clientId = unique('qos2');
      const first = await connected(version, { clientId });
      first.send(publish(topic, 'old', { qos: 2, messageId: 1 }));
      await first.next('pubrec');
      first.destroy(); // no PUBREL: the message stays unreleased
      await first.closed;
      const second = await connected(version, { clientId });
      second.send(publish(topic, 'new', { qos: 2, messageId: 1 }));
      await second.next('pubrec');
      second.send({ cmd: 'pubrel', messageId: 1 });
      await second.next('pubcomp');
      await watcher.next('publish', (p) => p.payload.toString() === 'new');
    }
  });
});
