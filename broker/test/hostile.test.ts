/**
 * Hostile input: well over 10,000 bad packets from hundreds of connections, plain and TLS, some
 * before login and some after a valid one (so they reach Aedes's handlers), while a normal camera
 * and subscriber keep exchanging messages. The broker must stay up, keep its memory bounded and
 * keep serving. The bad connections come from other loopback addresses, so the login rate limit
 * they trigger cannot touch the normal clients on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { brokerRss, BrokerSuite, connectAs, connectPacket, metricValue, MiB, passwordOf, RawConnection } from './helpers.js';
import { hostilePacket, SeededRandom } from './hostile-packets.js';

const MAX_PACKET_BYTES = 1024 * 1024;
const CONNECTIONS = 400;
const PACKETS_PER_CONNECTION = 26;
const PARALLEL = 16;
const SEED = 20240613;

/** Runs `task(i)` for i in [0, count), at most `parallel` at a time. */
async function pool(count: number, parallel: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** A camera publishing and a subscriber receiving, one confirmed message at a time, until stopped. */
class EchoLoop {
  sent = 0;
  received = 0;
  private running = true;
  private finished: Promise<void> | undefined;

  constructor(
    private readonly camera: MqttClient,
    private readonly watcher: MqttClient,
  ) {}

  start(): void {
    this.finished = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const arrived = new Promise<void>((resolve) => this.watcher.once('message', () => resolve()));
      await this.camera.publishAsync('camqtt/cam1/status', Buffer.from(String(this.sent)), { qos: 1 });
      this.sent += 1;
      await arrived;
      this.received += 1;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.finished;
  }
}

describe('hostile input', () => {
  // No per-address connection rate: the bad packets must reach the parser, not be refused at accept.
  const suite = new BrokerSuite({
    BROKER_MAX_PACKET_BYTES: String(MAX_PACKET_BYTES),
    LOG_LEVEL: 'info',
    BROKER_MAX_CONNECTION_RATE_PER_ADDRESS: '0',
  });

  before(() => suite.start());
  after(() => suite.stop());

  it('survives 10,000+ malformed, truncated, oversized and random packets while serving normal clients', async (t) => {
    const b = suite.broker;
    const random = new SeededRandom(SEED);
    const relayPassword = await passwordOf(b.dir, 'relay');
    const ca = await readFile(join(b.dir, 'tls', 'ca.crt'));

    const watcher = await connectAs(b, 'admin');
    const camera = await connectAs(b, 'cam1');
    suite.keep(watcher);
    suite.keep(camera);
    await watcher.subscribeAsync('camqtt/cam1/status', { qos: 1 });
    const echo = new EchoLoop(camera, watcher);
    echo.start();
    const rssBefore = await brokerRss(b);
    let rssPeak = rssBefore;
    let packets = 0;

    await pool(CONNECTIONS, PARALLEL, async (index) => {
      // Every other connection logs in properly first (from its own address, never rate-limited).
      const loggedIn = index % 2 === 0;
      const raw = await RawConnection.open(b.ports.mqtt, loggedIn ? '127.0.0.4' : '127.0.0.3');
      if (loggedIn) await raw.login(`hostile-${index}`, 'relay', relayPassword);
      const batch = [];
      for (let i = 0; i < PACKETS_PER_CONNECTION; i++) batch.push(hostilePacket(random, MAX_PACKET_BYTES).bytes);
      packets += batch.length;
      // In two writes, so some packets arrive after the broker has already reacted to earlier ones.
      const half = batch.length >> 1;
      raw.socket.write(Buffer.concat(batch.slice(0, half)));
      raw.socket.write(Buffer.concat(batch.slice(half)));
      raw.socket.end();
      await raw.closed;
      if (index % 50 === 0) rssPeak = Math.max(rssPeak, await brokerRss(b));
    });

    // The TLS port: raw random bytes instead of a handshake, and garbage inside real TLS sessions.
    let tlsPackets = 0;
    await pool(120, PARALLEL, async (index) => {
      if (index % 2 === 0) {
        const raw = await RawConnection.open(b.ports.mqtts, '127.0.0.3');
        raw.socket.end(random.bytes(1 + random.int(4096)));
        tlsPackets += 1;
        await raw.closed;
        return;
      }
      // TLS over a TCP socket of our own: that is how to pick the local address.
      const tcp = connectTcp({ host: '127.0.0.1', port: b.ports.mqtts, localAddress: '127.0.0.3' });
      tcp.on('error', () => {});
      const socket = connectTls({ socket: tcp, servername: 'localhost', ca });
      socket.on('error', () => {});
      // Read (and discard) whatever the broker answers: an unread socket never sees its end.
      socket.resume();
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await Promise.race([new Promise<void>((resolve) => socket.once('secureConnect', () => resolve())), closed]);
      const batch = [connectPacket(`tls-${index}`, 'relay', relayPassword)];
      for (let i = 0; i < 10; i++) batch.push(hostilePacket(random, MAX_PACKET_BYTES).bytes);
      tlsPackets += batch.length;
      socket.end(Buffer.concat(batch));
      await closed;
    });

    await echo.stop();
    rssPeak = Math.max(rssPeak, await brokerRss(b));
    const rssAfter = await brokerRss(b);
    t.diagnostic(
      `${packets} bad packets on ${CONNECTIONS} plain connections, ${tlsPackets} on 120 TLS ones; ` +
        `RSS ${(rssBefore / MiB).toFixed(1)} MiB before, peak ${(rssPeak / MiB).toFixed(1)}, after ${(rssAfter / MiB).toFixed(1)}; ` +
        `${echo.received} normal messages exchanged meanwhile`,
    );

    assert.ok(packets >= 10_000, `sent ${packets} bad packets`);
    assert.equal(b.process.exitCode, null, 'the broker is still running');
    assert.equal(echo.received, echo.sent, 'every normal message sent during the attack arrived');
    assert.ok(echo.received > 0, 'normal traffic flowed during the attack');
    assert.equal(camera.connected && watcher.connected, true);
    assert.ok(rssPeak - rssBefore < 96 * MiB, `RSS grew by ${((rssPeak - rssBefore) / MiB).toFixed(1)} MiB`);
    assert.ok((await metricValue(b, 'camqtt_broker_malformed_packets_total')) > 100);
    assert.ok((await metricValue(b, 'camqtt_broker_oversize_packets_total')) > 10);

    // And after it: a fresh client logs in and gets a message through.
    const relay = await connectAs(b, 'relay');
    suite.keep(relay);
    await relay.subscribeAsync('camqtt/+/status');
    const arrived = new Promise<string>((resolve) => relay.once('message', (_topic, payload: Buffer) => resolve(payload.toString())));
    await camera.publishAsync('camqtt/cam1/status', Buffer.from('after the storm'));
    assert.equal(await arrived, 'after the storm');
    const health = await fetch(`http://127.0.0.1:${b.ports.http}/healthz`);
    assert.equal(health.status, 200);
  });
});
