/**
 * The broker's limits against clients that misbehave by being slow or idle rather than by sending
 * bad bytes: silent connections, too many connections, a slowly sent 200 MB packet, and a frozen
 * subscriber. Memory figures are read from the broker's own /metrics and reported as diagnostics.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  brokerRss,
  BrokerSuite,
  metricValue,
  MiB,
  passwordOf,
  publishHeader,
  RawConnection,
  subscribePacket,
  waitForMetric,
} from './helpers.js';

const MAX_CONNECTIONS = 12;

/** Writes `chunk` again and again, yielding to the event loop each time, until closed or `limit` bytes went out. */
async function trickle(raw: RawConnection, chunk: Buffer, limit: number): Promise<number> {
  let sent = 0;
  while (!raw.socket.destroyed && sent < limit) {
    if (!raw.socket.write(chunk)) await Promise.race([new Promise((resolve) => raw.socket.once('drain', resolve)), raw.closed]);
    sent += chunk.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

describe('broker limits', () => {
  const suite = new BrokerSuite({ BROKER_MAX_CONNECTIONS: String(MAX_CONNECTIONS), BROKER_CONNECT_TIMEOUT_MS: '1000' });
  const client = (username: string): Promise<MqttClient> => suite.client(username);
  const raw = (port?: number): Promise<RawConnection> => suite.raw(port);

  before(() => suite.start());
  after(() => suite.stop());

  it('closes connections that never send CONNECT, plain and TLS', async () => {
    const b = suite.broker;
    const plain = await raw();
    const tls = await raw(b.ports.mqtts);
    await Promise.all([plain.closed, tls.closed]);
    await waitForMetric(b, 'camqtt_broker_refused_connections_total', 'reason="connect_timeout"', 1);
  });

  it('caps open connections: when full, a connection not logged in yet makes room; when all are logged in, a new one is refused', async () => {
    const b = suite.broker;
    // Idle connections from one address fill every slot (plain and TLS alike).
    const idle = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) idle.push(await suite.raw(i % 2 === 0 ? b.ports.mqtt : b.ports.mqtts, '127.0.0.7'));
    // A legitimate client still gets in: the oldest idle one is closed for it.
    const relay = await client('relay');
    assert.equal(relay.connected, true);
    await idle[0]!.closed;
    await waitForMetric(b, 'camqtt_broker_refused_connections_total', 'reason="evicted_unauthenticated"', 1);
    // Logged-in clients take the remaining slots, each pushing an idle one out.
    const loggedIn = [relay];
    for (let i = 1; i < MAX_CONNECTIONS; i++) loggedIn.push(await client('cam1'));
    await Promise.all(idle.map((connection) => connection.closed));
    // Now every slot is logged in: a newcomer is refused, and nobody logged in was closed for it.
    const extra = await raw();
    await extra.closed;
    await waitForMetric(b, 'camqtt_broker_refused_connections_total', 'reason="connection_limit"', 1);
    assert.ok(loggedIn.every((c) => c.connected));
    assert.ok((await metricValue(b, 'camqtt_broker_refused_connections_total', 'reason="evicted_unauthenticated"')) >= MAX_CONNECTIONS);
    await Promise.all(loggedIn.map((c) => c.endAsync()));
  });

  it('does not grow its memory for a 200 MB packet sent slowly, before or after login', async (t) => {
    const b = suite.broker;
    const before = await brokerRss(b);
    const chunk = randomBytes(64 * 1024);
    // Before login: a CONNECT declaring 200 MB, its length bytes one write at a time.
    const anonymous = await raw();
    for (const byte of [0x10, 0x80, 0x80, 0x80, 0x64]) {
      anonymous.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const sentBefore = await trickle(anonymous, chunk, 200 * MiB);
    await anonymous.closed;
    // After login: a PUBLISH declaring 200 MB, its body trickling in.
    const loggedIn = await raw();
    assert.equal(await loggedIn.login('slow-cam1', 'cam1', await passwordOf(b.dir, 'cam1')), 0);
    loggedIn.socket.write(publishHeader(200 * MiB));
    const sentAfter = await trickle(loggedIn, chunk, 200 * MiB);
    await loggedIn.closed;
    const after = await brokerRss(b);
    t.diagnostic(
      `200 MB senders: RSS ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB; bytes written before the close: ${sentBefore}, ${sentAfter}`,
    );
    assert.ok(after - before < 32 * MiB, `RSS grew by ${((after - before) / MiB).toFixed(1)} MiB`);
    assert.ok(sentBefore < 200 * MiB && sentAfter < 200 * MiB, 'closed long before the declared length');
    assert.ok((await metricValue(b, 'camqtt_broker_oversize_packets_total')) >= 2);
  });

  it('keeps delivering every frame to a live subscriber while another one is frozen', async (t) => {
    const b = suite.broker;
    // Frozen: logs in, subscribes to all frames, then never reads its socket again.
    const frozen = await raw();
    assert.equal(await frozen.login('frozen-relay', 'relay', await passwordOf(b.dir, 'relay')), 0);
    frozen.socket.write(subscribePacket(1, 'camqtt/+/frame', 0));
    const suback = await frozen.waitForBytes(4 + 5);
    assert.deepEqual([...suback.subarray(4, 9)], [0x90, 0x03, 0x00, 0x01, 0x00], 'SUBACK granting QoS 0');
    frozen.socket.pause();

    const live = await client('relay');
    await live.subscribeAsync('camqtt/+/frame');
    let received = 0;
    let wanted = 0;
    let caughtUp: (() => void) | undefined;
    live.on('message', () => {
      received += 1;
      if (received === wanted) caughtUp?.();
    });
    const camera = await client('cam1');
    const before = await brokerRss(b);
    let peak = before;

    // 1200 frames of 100 KB (120 MB, far more than the frozen socket's kernel buffers hold), in
    // batches the live subscriber confirms, so only the frozen one can fall behind.
    const frame = randomBytes(100 * 1024);
    const batches = 60;
    const perBatch = 20;
    for (let batch = 0; batch < batches; batch++) {
      wanted += perBatch;
      const batchDone = new Promise<void>((resolve) => {
        caughtUp = resolve;
      });
      for (let i = 0; i < perBatch; i++) camera.publish('camqtt/cam1/frame', frame);
      await batchDone;
      if (batch % 5 === 4) peak = Math.max(peak, await brokerRss(b));
    }
    assert.equal(received, batches * perBatch, 'the live subscriber got every frame');
    // Had delivery waited for the frozen subscriber, it would have been cut off (drain timeout) before this.
    assert.equal(frozen.socket.destroyed, false, 'the frozen subscriber is still connected');
    const dropped = await metricValue(b, 'camqtt_broker_dropped_messages_total', 'reason="slow_subscriber"');
    assert.ok(dropped > 0, 'frames to the frozen subscriber were dropped, not buffered');
    t.diagnostic(
      `frozen subscriber: RSS ${(before / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB; ${dropped} of ${batches * perBatch} frames dropped for it`,
    );
    assert.ok(peak - before < 64 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB for a 120 MB stream`);
  });
});
