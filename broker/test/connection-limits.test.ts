/**
 * Per-address connection limits: a cap on open connections and a rate of new ones, so that one
 * address cannot fill the broker; the refusals are counted and logged at most once per 10 s.
 * Each test's "attacker" has its own 127.x address (all of 127.0.0.0/8 is loopback on Linux).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BrokerSuite, metricValue, RawConnection, waitForMetric } from './helpers.js';

const PER_ADDRESS = 5;
const RATE = 10;

describe('broker connection limits per address', () => {
  const suite = new BrokerSuite({
    BROKER_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
    BROKER_MAX_CONNECTION_RATE_PER_ADDRESS: String(RATE),
  });

  before(() => suite.start());
  after(() => suite.stop());

  it('closes connections over the per-address cap at once; other addresses still connect', { timeout: 30_000 }, async () => {
    const b = suite.broker;
    const held: RawConnection[] = [];
    for (let i = 0; i < PER_ADDRESS; i++) held.push(await suite.raw(i % 2 === 0 ? b.ports.mqtt : b.ports.mqtts, '127.0.0.8'));
    // The two listeners accept in their own order: the broker must have taken all five in first.
    await waitForMetric(b, 'camqtt_broker_open_connections', '', PER_ADDRESS);
    const over = await suite.raw(b.ports.mqtts, '127.0.0.8');
    await over.closed;
    assert.ok(
      held.every((connection) => !connection.socket.destroyed),
      'the ones under the cap stay open',
    );
    const relay = await suite.client('relay');
    assert.equal(relay.connected, true);
    assert.equal(await metricValue(b, 'camqtt_broker_refused_connections_total', 'reason="address_limit"'), 1);
  });

  it('limits the rate of new connections per address, and logs the refusals once per 10 s', { timeout: 30_000 }, async () => {
    const b = suite.broker;
    // 60 connect-and-close attempts as fast as they go: at most a burst of RATE (plus what a
    // second refills) get in.
    const attempts = 60;
    await Promise.all(
      Array.from({ length: attempts }, async () => {
        const socket = connect({ port: b.ports.mqtt, host: '127.0.0.1', localAddress: '127.0.0.9' });
        socket.on('error', () => {});
        await new Promise<void>((resolve) => socket.once('close', () => resolve()).once('connect', () => socket.end()));
      }),
    );
    // The metric is counted as each refusal is handled; the broker may still be handling some.
    await waitForMetric(b, 'camqtt_broker_refused_connections_total', 'reason="connection_rate"', attempts - RATE * 2);
    const lines = b.process.lines.filter((l) => l.msg === 'too many new connections from one address; connection closed');
    assert.equal(lines.length, 1, 'one log line for the whole burst');
    assert.equal(lines[0]!.remoteAddress, '127.0.0.9');
    // Another address is not slowed down.
    const cam1 = await suite.client('cam1');
    assert.equal(cam1.connected, true);
  });
});
