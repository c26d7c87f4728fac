/**
 * Access control beyond yes/no: a refused publish is dropped like Mosquitto drops it (acknowledged,
 * never delivered or retained, connection kept), and failed logins are rate-limited per address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { BrokerSuite, metricValue, nextMessage, passwordOf, RawConnection, waitForMetric } from './helpers.js';

describe('broker access control', () => {
  const suite = new BrokerSuite();
  const client = (username: string): Promise<MqttClient> => suite.client(username);
  /** From another 127.x address, so the per-address login throttle of one test leaves the others alone. */
  const raw = (localAddress: string): Promise<RawConnection> => suite.raw(undefined, localAddress);

  before(() => suite.start());
  after(() => suite.stop());

  it('drops a refused publish at every QoS without closing the connection or retaining it', async () => {
    const b = suite.broker;
    const cam1 = await client('cam1');
    const refusedBefore = await metricValue(b, 'camqtt_broker_refused_publishes_total');
    // Retained, at QoS 0, 1 and 2: each handshake completes (the promises resolve on PUBACK/PUBCOMP).
    for (const qos of [0, 1, 2] as const) {
      await cam1.publishAsync('camqtt/cam2/frame', Buffer.from(`forged qos ${qos}`), { qos, retain: true });
    }
    await waitForMetric(b, 'camqtt_broker_refused_publishes_total', '', refusedBefore + 3);
    assert.equal(cam1.connected, true);

    // Nothing was retained: the first message a new subscriber gets is the next real one.
    const watcher = await client('admin');
    await watcher.subscribeAsync('camqtt/cam2/frame');
    const first = nextMessage(watcher, 'camqtt/cam2/frame');
    const cam2 = await client('cam2');
    await cam2.publishAsync('camqtt/cam2/frame', Buffer.from('real'));
    assert.equal((await first).toString(), 'real');

    // The refusing client's next allowed publish arrives over the same connection.
    await watcher.subscribeAsync('camqtt/cam1/status');
    const status = nextMessage(watcher, 'camqtt/cam1/status');
    await cam1.publishAsync('camqtt/cam1/status', Buffer.from('still here'), { qos: 1 });
    assert.equal((await status).toString(), 'still here');
    assert.equal(cam1.connected, true);
  });

  it('blocks an address after repeated wrong passwords, even for the right one, and only that address', async () => {
    const b = suite.broker;
    const password = await passwordOf(b.dir, 'cam1');
    // A guessing loop from 127.0.0.2: the first five are checked and refused as wrong.
    for (let attempt = 1; attempt <= 5; attempt++) {
      const guess = await raw('127.0.0.2');
      assert.equal(await guess.login(`guess-${attempt}`, 'cam1', `guess-${attempt}`), 4, 'CONNACK 4: bad user name or password');
      await guess.closed;
    }
    const blocked = await b.process.waitForLog((l) => l.msg === 'too many failed logins; address blocked');
    assert.equal(blocked.remoteAddress, '127.0.0.2');
    assert.ok(Number(blocked.blockMs) >= 1000);
    // Now even the right password is refused without being checked, so guessing is pointless.
    const right = await raw('127.0.0.2');
    assert.equal(await right.login('right-one', 'cam1', password), 5, 'CONNACK 5: not authorized');
    assert.ok((await metricValue(b, 'camqtt_broker_refused_logins_total', 'reason="throttled"')) >= 1);
    // Other addresses are not affected.
    const elsewhere = await raw('127.0.0.1');
    assert.equal(await elsewhere.login('elsewhere', 'cam1', password), 0);
  });

  it("does not forget an address's failed logins when it logs in successfully as another account", async () => {
    const b = suite.broker;
    // Another user than the other tests guess at: a user's failures add up over addresses.
    const admin = await passwordOf(b.dir, 'admin');
    const cam2 = await passwordOf(b.dir, 'cam2');
    // Guess twice at admin, log in as "yourself" (cam2), twice more, yourself again, a fifth guess.
    for (const [clientId, username, password, code] of [
      ['g1', 'admin', 'guess-1', 4],
      ['g2', 'admin', 'guess-2', 4],
      ['own-1', 'cam2', cam2, 0],
      ['g3', 'admin', 'guess-3', 4],
      ['g4', 'admin', 'guess-4', 4],
      ['own-2', 'cam2', cam2, 0],
      ['g5', 'admin', 'guess-5', 4],
    ] as const) {
      const connection = await raw('127.0.0.5');
      assert.equal(await connection.login(clientId, username, password), code, `${clientId} as ${username}`);
      connection.destroy();
    }
    // Five failures: the address is blocked, even for admin's right password.
    const line = await b.process.waitForLog((l) => l.msg === 'too many failed logins; address blocked' && l.remoteAddress === '127.0.0.5');
    assert.equal(line.blockMs, 2000);
    const right = await raw('127.0.0.5');
    assert.equal(await right.login('right', 'admin', admin), 5);
  });

  it('counts a login before checking its password: of 40 parallel guesses only 5 are checked', async () => {
    const b = suite.broker;
    const connections = await Promise.all(Array.from({ length: 40 }, () => raw('127.0.0.6')));
    const codes = await Promise.all(connections.map((connection, i) => connection.login(`parallel-${i}`, 'relay', `guess-${i}`)));
    const checked = codes.filter((code) => code === 4).length;
    assert.equal(checked + codes.filter((code) => code === 5).length, 40, `CONNACK codes: ${codes.join(',')}`);
    assert.equal(checked, 5, `${checked} guesses had their password checked`);
    // The refusal's log line may come a moment after its CONNACK: wait for it rather than look once.
    await b.process.waitForLog((l) => l.msg === 'login refused' && l.remoteAddress === '127.0.0.6' && /in progress/.test(String(l.reason)));
  });
});
