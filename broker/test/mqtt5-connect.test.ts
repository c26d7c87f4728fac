/**
 * MQTT 5 connection-level behaviour of the bundled broker in its conformance configuration
 * (anonymous, broker/conformance/acl, a 4096-byte packet cap): CONNACK, oversize packets,
 * keep-alive, takeover, shared subscriptions (not supported), and a filter named like an object key.
 * Where 3.1.1 has the same case it runs on both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { publishHeader } from './helpers.js';
import { conformanceSuite, MAX_PACKET_BYTES, RawClients, unique, v5Client } from './mqtt5-helpers.js';

describe('MQTT 5 connections (conformance configuration)', { timeout: 60_000 }, () => {
  const suite = conformanceSuite();
  const raws = new RawClients();
  const open = (version: 4 | 5 = 5) => raws.open(suite.broker.ports.mqtt, version);

  before(() => suite.start());
  after(async () => {
    raws.destroyAll();
    await suite.stop();
  });

  it('[MQTT-3.2.2-16] an empty client id gets an Assigned Client Identifier; CONNACK advertises the packet cap, topic aliases and Receive Maximum, no Server Keep Alive', async () => {
    const raw = await open();
    const connack = await raw.connect({ clientId: '' });
    assert.equal(connack.reasonCode, 0);
    const properties = connack.properties;
    assert.ok(properties);
    assert.match(properties.assignedClientIdentifier ?? '', /.+/);
    // The whole packet: 1 type byte, 2 length bytes for 4096, the 4096 bytes ClientConnection allows.
    assert.equal(properties.maximumPacketSize, MAX_PACKET_BYTES + 3);
    assert.equal(properties.topicAliasMaximum, 10);
    assert.equal(properties.receiveMaximum, 1000);
    assert.equal(properties.serverKeepAlive, undefined);
  });

  it('[MQTT-4.13.2-1] a packet over the advertised Maximum Packet Size gets DISCONNECT 0x95 on 5 (closed without one on 3.1.1)', async () => {
    for (const version of [5, 4] as const) {
      const raw = await open(version);
      await raw.connect();
      raw.writeRaw(publishHeader(MAX_PACKET_BYTES + 1));
      await raw.closed;
      const disconnects = raw.inbox.items.filter((p) => p.cmd === 'disconnect');
      if (version === 5)
        assert.deepEqual(
          disconnects.map((p) => p.reasonCode),
          [0x95],
        );
      else assert.equal(disconnects.length, 0);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${suite.broker.ports.http}/metrics`)).text();
    assert.match(metrics, /camqtt_broker_oversize_packets_total [2-9]/);
  });

  it("[MQTT-3.2.2-22] [MQTT-3.1.2-22] without a Server Keep Alive the client's own is used: silent for 1.5 times it, the connection is closed", async () => {
    // Both protocol levels at once: keep-alive is in whole seconds, so each waits 1.5 s.
    await Promise.all(
      ([5, 4] as const).map(async (version) => {
        const raw = await open(version);
        await raw.connect({ keepalive: 1 });
        const since = Date.now();
        await raw.closed;
        const after = Date.now() - since;
        assert.ok(after >= 1000 && after < 5000, `protocol ${version}: closed after ${after} ms`);
      }),
    );
  });

  it('[MQTT-3.1.4-3] a second connection with the same client id takes over: the first gets DISCONNECT 0x8E on 5 and is closed', async () => {
    for (const version of [5, 4] as const) {
      const clientId = unique('takeover');
      const first = await open(version);
      await first.connect({ clientId });
      const second = await open(version);
      assert.equal((await second.connect({ clientId })).cmd, 'connack');
      await first.closed;
      const disconnects = first.inbox.items.filter((p) => p.cmd === 'disconnect');
      if (version === 5)
        assert.deepEqual(
          disconnects.map((p) => p.reasonCode),
          [0x8e],
        );
      else assert.equal(disconnects.length, 0);
    }
  });

  it('[MQTT-3.9.3-2] shared subscriptions are not supported: CONNACK says so and a $share/ filter gets SUBACK 0x9E, the connection stays', async () => {
    const raw = await open();
    const connack = await raw.connect();
    assert.equal(connack.properties?.sharedSubscriptionAvailable, false);
    raw.send({
      cmd: 'subscribe',
      messageId: 5,
      subscriptions: [
        { topic: '$share/group/test/shared', qos: 1 },
        { topic: 'test/shared', qos: 1 },
      ],
    });
    assert.deepEqual((await raw.next('suback')).granted, [0x9e, 1]);
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
  });

  it('a filter named like an object key is an ordinary filter; __proto__ among several filters closes that connection (0x83), never the broker', async () => {
    for (const version of [5, 4] as const) {
      const raw = await open(version);
      await raw.connect();
      raw.send({ cmd: 'subscribe', messageId: 8, subscriptions: [{ topic: '__proto__', qos: 1 }] });
      assert.deepEqual((await raw.next('suback')).granted, [1]);
      raw.send({
        cmd: 'subscribe',
        messageId: 9,
        subscriptions: [
          { topic: 'constructor', qos: 0 },
          { topic: 'toString', qos: 2 },
        ],
      });
      assert.deepEqual((await raw.next('suback')).granted, [0, 2]);
      const { client } = await v5Client(suite, { protocolVersion: version });
      await client.publishAsync('__proto__', 'kept', { qos: 1 });
      assert.equal((await raw.next('publish', (p) => p.topic === '__proto__')).payload.toString(), 'kept');
      raw.send({ cmd: 'unsubscribe', messageId: 10, unsubscriptions: ['__proto__', 'hasOwnProperty'] });
      await raw.next('unsuback');

      // Aedes's dedupe of several filters would crash the process on this one (see granted-qos-delivery.ts).
      const batch = await open(version);
      await batch.connect();
      batch.send({
        cmd: 'subscribe',
        messageId: 11,
        subscriptions: [
          { topic: 'a', qos: 0 },
          { topic: '__proto__', qos: 1 },
        ],
      });
      await batch.closed;
      assert.deepEqual(
        batch.inbox.items.filter((p) => p.cmd !== 'connack').map((p) => p.cmd === 'disconnect' && p.reasonCode),
        version === 5 ? [0x83] : [],
      );
    }
    const after = await open();
    assert.equal((await after.connect()).reasonCode, 0);
  });

  it('[MQTT-3.3.4-7] more QoS 2 messages without PUBREL than the advertised Receive Maximum (1000) end the connection: DISCONNECT 0x93 on 5, closed on 3.1.1', async () => {
    for (const version of [5, 4] as const) {
      const raw = await open(version);
      await raw.connect();
      // One write: 1001 unreleased QoS 2 publishes with distinct packet ids.
      const burst = [];
      for (let id = 1; id <= 1001; id++)
        burst.push(
          mqttPacket.generate(
            { cmd: 'publish', topic: 'test/unreleased', payload: Buffer.alloc(0), qos: 2, messageId: id, retain: false, dup: false },
            { protocolVersion: version },
          ),
        );
      raw.writeRaw(Buffer.concat(burst));
      await raw.closed;
      const disconnects = raw.inbox.items.flatMap((p) => (p.cmd === 'disconnect' ? [p.reasonCode] : []));
      assert.deepEqual(disconnects, version === 5 ? [0x93] : [], `protocol ${version}`);
    }
  });
});
