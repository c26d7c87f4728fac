/**
 * MQTT 3.1.1 behaviour the video path does not use but other MQTT tools rely on, checked against
 * the broker in its conformance configuration (broker/conformance/acl, anonymous allowed), the one
 * `npm run broker:conformance` starts. Real MQTT.js clients, and raw bytes where a client library
 * would refuse to send what the test needs.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { repoRoot, ServiceProcess } from '@camqtt/test-support';
import { closeClients, makeTempDir, RawConnection, subscribePacket } from './helpers.js';

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Collects every message a client receives, and lets a test wait for the n-th. */
class Inbox {
  readonly messages: Received[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
      this.waiters = this.waiters.filter((w) => (this.messages.length >= w.count ? (w.resolve(), false) : true));
    });
  }

  async atLeast(count: number): Promise<Received[]> {
    if (this.messages.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.messages;
  }
}

/** A raw CONNECT: protocol name and level, flags, keepalive and client id as given. */
function rawConnect(options: { name?: string; level?: number; flags?: number; keepalive?: number; clientId: string }): Buffer {
  const name = Buffer.from(options.name ?? 'MQTT');
  const id = Buffer.from(options.clientId);
  const body = Buffer.concat([
    Buffer.from([0, name.length]),
    name,
    Buffer.from([options.level ?? 4, options.flags ?? 0x02, 0, options.keepalive ?? 60]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

describe('MQTT 3.1.1 conformance (conformance configuration)', () => {
  let process: ServiceProcess | undefined;
  let dir: string | undefined;
  let port = 0;
  const clients: MqttClient[] = [];
  const raws: RawConnection[] = [];

  async function client(options: IClientOptions = {}): Promise<MqttClient> {
    const connected = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
      clientId: `c-${Math.random().toString(16).slice(2, 10)}`,
      ...options,
    });
    clients.push(connected);
    return connected;
  }

  async function raw(): Promise<RawConnection> {
    const connection = await RawConnection.open(port);
    raws.push(connection);
    return connection;
  }

  before(async () => {
    dir = await makeTempDir();
    process = ServiceProcess.start('broker', {
      BROKER_HOST: '127.0.0.1',
      BROKER_MQTT_PORT: '0',
      BROKER_HTTP_PORT: '0',
      BROKER_ALLOW_ANONYMOUS: 'true',
      BROKER_ACL_FILE: `${repoRoot}broker/conformance/acl`,
    });
    port = await process.port('mqtt');
  });

  after(async () => {
    for (const connection of raws) connection.destroy();
    await closeClients(...clients);
    await process?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sets, replaces and clears a retained message', async () => {
    const publisher = await client();
    await publisher.publishAsync('test/retained', 'one', { retain: true, qos: 1 });
    await publisher.publishAsync('test/retained', 'two', { retain: true, qos: 1 });
    const first = await client();
    const inbox = new Inbox(first);
    await first.subscribeAsync('test/retained', { qos: 1 });
    const [replaced] = await inbox.atLeast(1);
    assert.deepEqual({ payload: replaced!.payload, retain: replaced!.retain }, { payload: 'two', retain: true });
    // An empty retained payload clears it [MQTT-3.3.1-10]; a later subscriber gets nothing retained.
    await publisher.publishAsync('test/retained', '', { retain: true, qos: 1 });
    const later = await client();
    const laterInbox = new Inbox(later);
    await later.subscribeAsync('test/retained', { qos: 1 });
    await publisher.publishAsync('test/retained', 'live', { qos: 1 });
    const [firstSeen] = await laterInbox.atLeast(1);
    assert.deepEqual({ payload: firstSeen!.payload, retain: firstSeen!.retain }, { payload: 'live', retain: false });
  });

  it('publishes a will on an abrupt close but not after DISCONNECT', async () => {
    const watcher = await client();
    const inbox = new Inbox(watcher);
    await watcher.subscribeAsync('test/will/#', { qos: 1 });
    const polite = await client({ will: { topic: 'test/will/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await polite.endAsync();
    const rude = await client({ will: { topic: 'test/will/rude', payload: Buffer.from('gone'), qos: 1, retain: false } });
    rude.stream.destroy();
    const [will] = await inbox.atLeast(1);
    assert.deepEqual({ topic: will!.topic, payload: will!.payload, qos: will!.qos }, { topic: 'test/will/rude', payload: 'gone', qos: 1 });
  });

  /*
   * A message matching several of one client's filters: one copy, at the lower of the published QoS
   * and the highest QoS granted among the matching filters [MQTT-3.3.5-1]. Aedes 1.2 alone gets all
   * but the last case wrong (aedes#1074); broker/src/granted-qos-delivery.ts fixes them.
   */
  const overlaps: Array<{ filters: Record<string, 0 | 1 | 2>; published: 0 | 1 | 2; expected: number }> = [
    { filters: { 'test/overlap/#': 1, 'test/overlap/a': 0 }, published: 1, expected: 1 },
    { filters: { 'test/overlap/#': 0, 'test/overlap/a': 1 }, published: 2, expected: 1 },
    { filters: { 'test/overlap/+': 2, 'test/overlap/a': 1, 'test/#': 0 }, published: 2, expected: 2 },
    { filters: { 'test/overlap/#': 1, 'test/overlap/+': 0 }, published: 2, expected: 1 },
    { filters: { 'test/overlap/#': 2, 'test/overlap/a': 0 }, published: 0, expected: 0 },
  ];
  for (const { filters, published, expected } of overlaps) {
    it(`delivers a QoS ${published} message matching ${Object.entries(filters)
      .map(([f, q]) => `${f}@${q}`)
      .join(' + ')} once, at QoS ${expected}`, async () => {
      const subscriber = await client();
      const inbox = new Inbox(subscriber);
      await subscriber.subscribeAsync(Object.fromEntries(Object.entries(filters).map(([filter, qos]) => [filter, { qos }])));
      const publisher = await client();
      await publisher.publishAsync('test/overlap/a', 'both', { qos: published });
      // A QoS 2 marker on a topic only one filter matches: everything before it has arrived.
      await publisher.publishAsync('test/overlap/end', 'marker', { qos: 2 });
      await inbox.atLeast(2);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const copies = inbox.messages.filter((m) => m.topic === 'test/overlap/a');
      assert.deepEqual(
        copies.map((m) => m.qos),
        [expected],
      );
    });
  }

  it("sends a retained message to a wildcard filter at the filter's granted QoS", async () => {
    const publisher = await client();
    await publisher.publishAsync('test/granted/retained', 'kept', { qos: 2, retain: true });
    const subscriber = await client();
    const inbox = new Inbox(subscriber);
    await subscriber.subscribeAsync({ 'test/granted/+': { qos: 1 } });
    const [retained] = await inbox.atLeast(1);
    assert.deepEqual(
      { payload: retained!.payload, qos: retained!.qos, retain: retained!.retain },
      { payload: 'kept', qos: 1, retain: true },
    );
    await publisher.publishAsync('test/granted/retained', '', { qos: 1, retain: true });
  });

  it('queues a message for a persistent session at the highest QoS its overlapping filters grant', async () => {
    const id = 'persistent-overlap';
    const first = await client({ clientId: id, clean: false });
    await first.subscribeAsync({ 'test/queued/#': { qos: 1 }, 'test/queued/a': { qos: 0 } });
    await first.endAsync();
    const publisher = await client();
    await publisher.publishAsync('test/queued/a', 'while away', { qos: 1 });
    const again = connect(`mqtt://127.0.0.1:${port}`, { clientId: id, clean: false, reconnectPeriod: 0 });
    clients.push(again);
    const inbox = new Inbox(again);
    const [queued] = await inbox.atLeast(1);
    assert.deepEqual({ payload: queued!.payload, qos: queued!.qos }, { payload: 'while away', qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(inbox.messages.length, 1);
    await again.endAsync();
    await (await client({ clientId: id, clean: true })).endAsync();
  });

  it('round-trips QoS 0, 1 and 2, each delivered at the lower of publish and subscription QoS', async () => {
    const subscriber = await client();
    const inbox = new Inbox(subscriber);
    await subscriber.subscribeAsync({ 'test/qos/2': { qos: 2 }, 'test/qos/1': { qos: 1 } });
    const publisher = await client();
    for (const qos of [0, 1, 2] as const) await publisher.publishAsync('test/qos/2', `q${qos}`, { qos });
    await publisher.publishAsync('test/qos/1', 'q2-down', { qos: 2 });
    const messages = await inbox.atLeast(4);
    // Order is only kept per QoS level (section 4.6), so compare as a set.
    assert.deepEqual(messages.map((m) => [m.payload, m.qos]).sort(), [
      ['q0', 0],
      ['q1', 1],
      ['q2', 2],
      ['q2-down', 1],
    ]);
  });

  it('closes a connection silent for 1.5 times its keepalive', async () => {
    const silent = await raw();
    silent.socket.write(rawConnect({ clientId: 'silent', keepalive: 1 }));
    await silent.closed;
    await process!.waitForLog((l) => l.msg === 'client error' && l.clientId === 'silent' && l.reason === 'keep alive timeout');
  });

  it('queues QoS 1 messages for a persistent session and forgets a clean one', async () => {
    const id = 'persistent-session';
    const first = await client({ clientId: id, clean: false });
    await first.subscribeAsync('test/session', { qos: 1 });
    await first.endAsync();
    const publisher = await client();
    for (const n of [1, 2, 3]) await publisher.publishAsync('test/session', `queued ${n}`, { qos: 1 });
    // Reconnect: the session is present and the three queued messages arrive.
    let sessionPresent: boolean | undefined;
    // Not connectAsync: the inbox must be listening before the queued messages flow in.
    const again = connect(`mqtt://127.0.0.1:${port}`, { clientId: id, clean: false, reconnectPeriod: 0 });
    clients.push(again);
    const inbox = new Inbox(again);
    again.once('connect', (connack) => (sessionPresent = connack.sessionPresent));
    const messages = await inbox.atLeast(3);
    assert.equal(sessionPresent, true);
    assert.deepEqual(
      messages.map((m) => [m.payload, m.qos]),
      [
        ['queued 1', 1],
        ['queued 2', 1],
        ['queued 3', 1],
      ],
    );
    await again.endAsync();
    // A clean connect drops the session: no session present, and no subscription left behind.
    const clean = await client({ clientId: id, clean: true });
    await clean.endAsync();
    const back = connect(`mqtt://127.0.0.1:${port}`, { clientId: id, clean: false, reconnectPeriod: 0 });
    clients.push(back);
    const connack = new Promise<boolean>((resolve) => back.once('connect', (packet) => resolve(packet.sessionPresent)));
    assert.equal(await connack, false);
  });

  it('does not match $-topics with # or +', async () => {
    const wild = await client();
    const wildInbox = new Inbox(wild);
    await wild.subscribeAsync(['#', '+/x']);
    const dollar = await client();
    const dollarInbox = new Inbox(dollar);
    await dollar.subscribeAsync('$test/#');
    const publisher = await client();
    await publisher.publishAsync('$test/x', 'dollar', { qos: 1 });
    await publisher.publishAsync('plain/x', 'plain', { qos: 1 });
    assert.equal((await dollarInbox.atLeast(1))[0]!.payload, 'dollar');
    const seen = await wildInbox.atLeast(1);
    assert.equal(seen[0]!.payload, 'plain', 'the first message # saw is the plain one');
  });

  it('assigns an id for an empty client id with a clean session and refuses one without', async () => {
    const assigned = await client({ clientId: '', clean: true });
    assert.equal(assigned.connected, true);
    // MQTT.js will not even send this one, so the refusal is checked with raw bytes.
    const rawRefused = await raw();
    rawRefused.socket.write(rawConnect({ clientId: '', flags: 0x00 }));
    assert.deepEqual([...(await rawRefused.waitForBytes(4)).subarray(0, 4)], [0x20, 0x02, 0x00, 0x02], 'CONNACK 0x02');
    await rawRefused.closed;
  });

  it('closes the connection on a second CONNECT [MQTT-3.1.0-2]', async () => {
    const twice = await raw();
    twice.socket.write(rawConnect({ clientId: 'twice' }));
    assert.deepEqual([...(await twice.waitForBytes(4)).subarray(0, 4)], [0x20, 0x02, 0x00, 0x00]);
    twice.socket.write(rawConnect({ clientId: 'twice' }));
    await twice.closed;
    assert.equal(Buffer.concat(twice.received).length, 4, 'nothing but the first CONNACK');
  });

  it('answers an unsupported protocol level with CONNACK 0x01 and closes on an unknown protocol name', async () => {
    for (const level of [2, 6, 0x7f]) {
      const wrongLevel = await raw();
      wrongLevel.socket.write(rawConnect({ clientId: `level-${level}`, level }));
      await wrongLevel.closed;
      assert.deepEqual([...Buffer.concat(wrongLevel.received)], [0x20, 0x02, 0x00, 0x01], `level ${level}`);
    }
    // [MQTT-3.1.2-1]: a wrong protocol name may be closed without any CONNACK.
    const wrongName = await raw();
    wrongName.socket.write(rawConnect({ clientId: 'name', name: 'MQTX' }));
    await wrongName.closed;
    assert.equal(Buffer.concat(wrongName.received).length, 0);
  });

  it('refuses a subscription to test/nosubscribe with 0x80 and keeps the connection', async () => {
    const subscriber = await raw();
    subscriber.socket.write(rawConnect({ clientId: 'nosub' }));
    await subscriber.waitForBytes(4);
    subscriber.socket.write(subscribePacket(9, 'test/nosubscribe', 1));
    const bytes = await subscriber.waitForBytes(4 + 5);
    assert.deepEqual([...bytes.subarray(4, 9)], [0x90, 0x03, 0x00, 0x09, 0x80]);
    subscriber.socket.write(Buffer.from([0xc0, 0x00]));
    assert.deepEqual([...(await subscriber.waitForBytes(11)).subarray(9, 11)], [0xd0, 0x00], 'PINGRESP: still connected');
  });
});
