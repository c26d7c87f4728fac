/**
 * MQTT 5 reason codes where the broker refuses something, next to what the same refusal is on
 * MQTT 3.1.1 (return codes without a reason). The broker runs with provisioned accounts and no
 * anonymous access, as in the stack. Raw clients, to read the exact codes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerSuite, passwordOf } from './helpers.js';
import { RawClients, unique } from './mqtt5-helpers.js';

describe('MQTT 5 refusals with reason codes (accounts, no anonymous access)', { timeout: 60_000 }, () => {
  const suite = new BrokerSuite();
  const raws = new RawClients();
  /** Each test logs in from its own 127.x address: the login throttle counts per address. */
  const open = (version: 4 | 5, localAddress: string) => raws.open(suite.broker.ports.mqtt, version, { localAddress });
  const login = async (username: string) => ({ username, password: Buffer.from(await passwordOf(suite.broker.dir, username)) });

  before(() => suite.start());
  after(async () => {
    raws.destroyAll();
    await suite.stop();
  });

  it('[MQTT-3.2.2-8] [MQTT-3.2.2-7] a wrong password gets CONNACK 0x86 on 5 (return code 4 on 3.1.1) and the connection closed', async () => {
    for (const [version, expected] of [
      [5, 0x86],
      [4, 4],
    ] as const) {
      const raw = await open(version, '127.0.0.41');
      const connack = await raw.connect({ username: 'cam1', password: Buffer.from('wrong') });
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, expected, `protocol ${version}`);
      await raw.closed;
    }
  });

  it('[MQTT-3.2.2-8] an anonymous client gets CONNACK 0x87 Not authorized on 5 (return code 5 on 3.1.1)', async () => {
    for (const [version, expected] of [
      [5, 0x87],
      [4, 5],
    ] as const) {
      const raw = await open(version, '127.0.0.42');
      const connack = await raw.connect();
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, expected, `protocol ${version}`);
      await raw.closed;
    }
  });

  it('[MQTT-3.2.2-8] a throttled login gets CONNACK 0x97 Quota exceeded on 5 (return code 5 on 3.1.1)', async () => {
    // Five wrong passwords block the address for a while (LOGIN_THROTTLE_DEFAULTS).
    for (let i = 0; i < 5; i++) {
      const raw = await open(5, '127.0.0.43');
      assert.equal((await raw.connect({ username: 'cam2', password: Buffer.from('wrong') })).reasonCode, 0x86);
      await raw.closed;
    }
    const right = await login('cam2');
    const v5 = await open(5, '127.0.0.43');
    assert.equal((await v5.connect(right)).reasonCode, 0x97);
    await v5.closed;
    const v4 = await open(4, '127.0.0.43');
    assert.equal((await v4.connect(right)).returnCode, 5);
    await v4.closed;
  });

  it('[MQTT-3.9.3-2] a filter the access rules refuse gets SUBACK 0x87 on 5 (0x80 on 3.1.1), the connection stays', async () => {
    for (const [version, expected] of [
      [5, 0x87],
      [4, 0x80],
    ] as const) {
      const raw = await open(version, '127.0.0.44');
      assert.equal((await raw.connect({ ...(await login('cam1')), clientId: unique('camqtt-acl') })).sessionPresent, false);
      raw.send({
        cmd: 'subscribe',
        messageId: 7,
        subscriptions: [
          { topic: 'camqtt/cam1/control', qos: 1 },
          { topic: 'camqtt/cam2/control', qos: 1 },
        ],
      });
      const suback = await raw.next('suback');
      assert.deepEqual(suback.granted, [1, expected], `protocol ${version}`);
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp');
    }
  });

  it('[MQTT-3.4.2-1] a refused QoS 1 publish gets PUBACK 0x87 on 5 (plain PUBACK on 3.1.1), nothing is delivered, the connection stays', async () => {
    const watcher = await open(5, '127.0.0.45');
    await watcher.connect({ ...(await login('admin')), clientId: unique('watcher') });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'camqtt/cam2/#', qos: 1 }] });
    await watcher.next('suback');
    for (const version of [5, 4] as const) {
      const raw = await open(version, '127.0.0.45');
      await raw.connect({ ...(await login('cam1')), clientId: unique('forger') });
      raw.send({
        cmd: 'publish',
        topic: 'camqtt/cam2/frame',
        payload: Buffer.from('forged'),
        qos: 1,
        messageId: 3,
        retain: false,
        dup: false,
      });
      const puback = await raw.next('puback');
      assert.equal(puback.reasonCode ?? 0, version === 5 ? 0x87 : 0, `protocol ${version}`);
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp');
    }
    // A message that is allowed arrives, and it is the first one: the forged ones never did.
    const admin = await open(5, '127.0.0.45');
    await admin.connect({ ...(await login('admin')), clientId: unique('admin') });
    admin.send({
      cmd: 'publish',
      topic: 'camqtt/cam2/status',
      payload: Buffer.from('real'),
      qos: 1,
      messageId: 4,
      retain: false,
      dup: false,
    });
    const first = await watcher.next('publish');
    assert.equal(first.topic, 'camqtt/cam2/status');
  });
});
