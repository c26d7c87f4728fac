/**
 * Pins every Aedes internal broker/src/aedes-internals.ts relies on, against the installed Aedes
 * in this process: an Aedes upgrade that moves one fails here, with the internal's name. Each test
 * runs a real Aedes behind a TCP listener, with real MQTT.js and raw mqtt-packet clients.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Aedes, AedesOptions, Client, PublishPacket } from 'aedes';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import {
  AEDES_CONNECT_TIMEOUT,
  AEDES_LIFECYCLE_ERRORS,
  createGatedAedes,
  fixSessionLifecycle,
  missingAedesInternals,
  refuseProtoBatches,
  type PublishGate,
} from '../src/aedes-internals.js';
import { deliverAtGrantedQoS } from '../src/granted-qos-delivery.js';
import { waitFor } from '@camqtt/test-support';
import { RawClient, unique } from './mqtt5-helpers.js';

/** The next message `client` receives, with the QoS it arrived at. */
async function nextMessage(client: MqttClient): Promise<{ payload: string; qos: number }> {
  return await new Promise((resolve) =>
    client.once('message', (_topic, payload, packet) => resolve({ payload: payload.toString(), qos: packet.qos })),
  );
}

interface AedesUnderTest {
  aedes: Aedes;
  port: number;
  /** Every client Aedes made, in order. */
  clients: Client[];
}

describe('Aedes internals the broker relies on', { timeout: 30_000 }, () => {
  const servers: Server[] = [];
  const brokers: Aedes[] = [];
  const mqttClients: MqttClient[] = [];
  const raws: RawClient[] = [];

  /** A gated Aedes with the broker's per-client fixes, on a free loopback port. */
  async function startAedes(
    options: AedesOptions = {},
    gate: PublishGate = (packet) => packet,
    onProtoBatch = () => {},
  ): Promise<AedesUnderTest> {
    const aedes = createGatedAedes(options, gate);
    await aedes.listen();
    fixSessionLifecycle(aedes, (error) => assert.fail(String(error)));
    const clients: Client[] = [];
    const server = createServer((socket) => {
      const client = aedes.handle(socket);
      clients.push(client);
      deliverAtGrantedQoS(client);
      refuseProtoBatches(client, onProtoBatch);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    brokers.push(aedes);
    return { aedes, port: (server.address() as AddressInfo).port, clients };
  }

  async function mqttClient(port: number, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: unique('c'), reconnectPeriod: 0, ...options });
    mqttClients.push(client);
    return client;
  }

  async function raw(port: number, version: 4 | 5): Promise<RawClient> {
    const client = await RawClient.open(port, version, { autoAck: false });
    raws.push(client);
    return client;
  }

  after(async () => {
    for (const client of raws) client.destroy();
    await Promise.all(mqttClients.map(async (client) => client.endAsync(true)));
    for (const server of servers) server.close();
    await Promise.all(brokers.map(async (aedes) => new Promise<void>((resolve) => aedes.close(() => resolve()))));
  });

  it('a connected client has every field aedes-internals.ts reads (missingAedesInternals)', async () => {
    const { port, clients } = await startAedes();
    await mqttClient(port, { protocolVersion: 5 });
    assert.deepEqual(missingAedesInternals(clients[0]!), []);
  });

  it('Aedes#publish(packet, client, done): a will reaches the gate as the packet authorizePublish saw, still with its Will Delay Interval (upstream #1098)', async () => {
    const authorized: PublishPacket[] = [];
    const gated: PublishPacket[] = [];
    const publishedBy: Array<Client | null> = [];
    const topic = unique('will');
    const { port } = await startAedes(
      {
        authorizePublish: (_client, packet, done) => {
          authorized.push(packet);
          done(null);
        },
        published: (packet, client, done) => {
          if (packet.topic === topic) publishedBy.push(client);
          done(null);
        },
      },
      (packet) => {
        gated.push(packet);
        return packet;
      },
    );
    const watcher = await mqttClient(port);
    await watcher.subscribeAsync(topic);
    const willArrived = nextMessage(watcher);
    const dying = await raw(port, 5);
    await dying.connect({ will: { topic, payload: Buffer.from('gone'), qos: 0, retain: false, properties: { willDelayInterval: 0 } } });
    dying.destroy();
    await willArrived;
    const will = gated.find((packet) => packet.topic === topic)!;
    assert.ok(authorized.includes(will), 'the gate sees the very packet object authorizePublish was given');
    assert.equal((will as { properties?: Record<string, unknown> }).properties?.willDelayInterval, 0, 'withoutWillDelay is still needed');
    assert.ok(publishedBy[0], 'the client passed to publish() reaches the published hook');
  });

  it('a message the gate drops is acknowledged to its sender and goes nowhere', async () => {
    const topic = unique('gate');
    const { port } = await startAedes({}, (packet) => (packet.payload.toString() === 'dropped' ? undefined : packet));
    const reader = await mqttClient(port);
    await reader.subscribeAsync(topic, { qos: 1 });
    const first = nextMessage(reader);
    const writer = await mqttClient(port);
    await writer.publishAsync(topic, 'dropped', { qos: 1 });
    await writer.publishAsync(topic, 'kept', { qos: 1 });
    assert.equal((await first).payload, 'kept');
  });

  it('deliver0, deliverQoS and subscriptions: overlapping filters deliver once, at the highest granted QoS (aedes#1074)', async () => {
    const topic = unique('qos');
    const { port } = await startAedes();
    const reader = await mqttClient(port);
    await reader.subscribeAsync({ [`${topic}/#`]: { qos: 0 }, [`${topic}/x`]: { qos: 1 } });
    const arrived = nextMessage(reader);
    await (await mqttClient(port)).publishAsync(`${topic}/x`, 'm', { qos: 1 });
    assert.equal((await arrived).qos, 1);
  });

  it('_parser: a SUBSCRIBE of __proto__ among other filters is caught before Aedes handles it', async () => {
    let caught = 0;
    const { port } = await startAedes({}, undefined, () => (caught += 1));
    const client = await raw(port, 4);
    await client.connect();
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: '__proto__', qos: 0 },
        { topic: 'a/b', qos: 0 },
      ],
    });
    await client.next('suback');
    assert.equal(caught, 1);
    // The process survived: another client still gets through.
    await mqttClient(port);
  });

  it('_cleanStart and clean: an MQTT 5 resume asking Session Expiry 0 still gets its queued messages [MQTT-3.1.2-5]', async () => {
    const topic = unique('resume');
    const clientId = unique('resume');
    const { port } = await startAedes();
    const first = await mqttClient(port, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    const writer = await mqttClient(port);
    await writer.publishAsync(topic, 'queued', { qos: 1 });
    const back = await raw(port, 5);
    await back.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 0 } });
    // Without the fix the queue is dropped and the marker comes first.
    await writer.publishAsync(topic, 'marker', { qos: 1 });
    assert.equal((await back.next('publish')).payload.toString(), 'queued');
  });

  it('persistence.cleanIncoming: a clean start forgets unreleased inbound QoS 2, so a reused packet id is a new message', async () => {
    const topic = unique('qos2');
    const clientId = unique('qos2');
    const { port } = await startAedes();
    const reader = await mqttClient(port);
    await reader.subscribeAsync(topic, { qos: 2 });
    const sendQoS2 = (client: RawClient, payload: string): void =>
      client.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 2, messageId: 7, retain: false, dup: false });
    const first = await raw(port, 4);
    await first.connect({ clientId });
    sendQoS2(first, 'one');
    await first.next('pubrec');
    first.destroy();
    await first.closed;
    const received: string[] = [];
    reader.on('message', (_topic, payload) => received.push(payload.toString()));
    const second = await raw(port, 4);
    await second.connect({ clientId });
    sendQoS2(second, 'two');
    await second.next('pubrec');
    second.send({ cmd: 'pubrel', messageId: 7 });
    await second.next('pubcomp');
    // Without the fix 'two' is taken for a duplicate of 'one' and dropped: this times out.
    await waitFor("'two' at the reader", () => received.includes('two'), 5000);
    assert.ok(received.includes('two'));
  });

  it('error messages: a connection without CONNECT ends with AEDES_CONNECT_TIMEOUT, one of AEDES_LIFECYCLE_ERRORS', async () => {
    const { aedes, port } = await startAedes({ connectTimeout: 50 });
    const errors: string[] = [];
    aedes.on('clientError', (_client, error) => errors.push(error.message));
    aedes.on('connectionError', (_client, error) => errors.push(error.message));
    const silent = await raw(port, 4);
    await silent.closed;
    assert.ok(errors.includes(AEDES_CONNECT_TIMEOUT), `errors: ${JSON.stringify(errors)}`);
    assert.ok(AEDES_LIFECYCLE_ERRORS.has(AEDES_CONNECT_TIMEOUT));
  });
});
